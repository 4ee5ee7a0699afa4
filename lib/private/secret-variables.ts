/**
 * Names of environment variables that hold a secret: those of azure-identity's EnvironmentCredential
 * (`AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_PASSWORD`), Airflow's own keys
 * (`AIRFLOW__CORE__FERNET_KEY`, `AIRFLOW__API__SECRET_KEY`, `AIRFLOW__WEBSERVER__SECRET_KEY`) and any
 * other password, token, API or private key, or connection string. No host passes one on: what a host
 * makes of the environment (a Fabric job definition, Helm values, a plain output) is written in the
 * clear into the synthesized JSON and the Terraform state.
 */
const SECRET_VARIABLE_NAME = /(SECRET|PASSWORD|TOKEN|CONNECTION_STRING|(ACCOUNT|ACCESS|SECRET|FERNET|API|PRIVATE)_KEY)$/i;

/** The names of `environment` that hold a secret, in its order. */
export function secretVariables(environment: Readonly<Record<string, string>>): string[] {
  return Object.keys(environment).filter((name) => SECRET_VARIABLE_NAME.test(name));
}
