/** Airflow's Key Vault secrets backend reads connection `<id>` from the secret `airflow-connections-<id>` (`AIRFLOW__SECRETS__BACKEND_KWARGS`). */
export const AIRFLOW_CONNECTIONS_PREFIX = 'airflow-connections';

/**
 * The Key Vault secret Airflow's secrets backend reads an Airflow connection from: the prefix, `-`,
 * and the id with `_` as `-` (`AzureKeyVaultBackend.build_path`).
 */
export function airflowConnectionSecretName(connectionId: string): string {
  return `${AIRFLOW_CONNECTIONS_PREFIX}-${connectionId.replace(/_/g, '-')}`;
}

/**
 * The Key Vault secret holding the client secret of the app registration people sign in to the
 * Kubernetes host's Airflow UI with (`airflow.kubernetes.signIn`): the API server reads it at start
 * (dags/migration_orchestration_lib/entra_sign_in.py). Not under {@link AIRFLOW_CONNECTIONS_PREFIX}:
 * Airflow's secrets backend never serves it as a connection. Its name ends in `credential`, not
 * `secret`: names of secrets to set are listed in an output, whose keys would otherwise read as ones
 * holding a secret's value.
 */
export const AIRFLOW_SIGN_IN_SECRET_NAME = 'airflow-sign-in-client-credential';
