/** Airflow's Key Vault secrets backend reads connection `<id>` from the secret `airflow-connections-<id>` (`AIRFLOW__SECRETS__BACKEND_KWARGS`). */
export const AIRFLOW_CONNECTIONS_PREFIX = 'airflow-connections';

/**
 * The Key Vault secret Airflow's secrets backend reads an Airflow connection from: the prefix, `-`,
 * and the id with `_` as `-` (`AzureKeyVaultBackend.build_path`).
 */
export function airflowConnectionSecretName(connectionId: string): string {
  return `${AIRFLOW_CONNECTIONS_PREFIX}-${connectionId.replace(/_/g, '-')}`;
}
