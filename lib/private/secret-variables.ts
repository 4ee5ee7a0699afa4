import sensitiveAirflowOptions from './airflow-sensitive-options.json';

/**
 * Names of environment variables that hold a secret: those of azure-identity's EnvironmentCredential
 * (`AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_PASSWORD`), Airflow's own keys
 * (`AIRFLOW__CORE__FERNET_KEY`, `AIRFLOW__API__SECRET_KEY`, `AIRFLOW__WEBSERVER__SECRET_KEY`) and any
 * other password, token, API or private key, or connection string, and Flower's logins
 * (`AIRFLOW__CELERY__FLOWER_BASIC_AUTH`, `FLOWER_BASIC_AUTH`: `user:password`). No host passes one on:
 * what a host makes of the environment (a Fabric job definition, Helm values, a plain output) is
 * written in the clear into the synthesized JSON and the Terraform state.
 */
const SECRET_VARIABLE_NAME = /(SECRET|PASSWORD|TOKEN|CONNECTION_STRING|FLOWER_BASIC_AUTH|(ACCOUNT|ACCESS|SECRET|FERNET|API|PRIVATE)_KEY)$/i;

/**
 * Airflow's sensitive options (`sensitive: true` in its config.yml, with their deprecated names): the
 * union of `conf.sensitive_config_values` in the Airflows the DAG is tested on, each option with those
 * that have it (dags/tests/test_airflow_sensitive_options.py checks every Airflow's own). For these only,
 * Airflow reads `AIRFLOW__<SECTION>__<OPTION>_SECRET` as the name of a secret in its secrets backend
 * (and `..._CMD` as a command printing the value), so that variable holds no secret itself.
 */
const SENSITIVE_AIRFLOW_OPTIONS = Object.keys(sensitiveAirflowOptions.options);

/** `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET` and the like: named like a secret, holding a secret's name. */
const SECRET_REFERENCE_VARIABLES = new Set(
  SENSITIVE_AIRFLOW_OPTIONS.map((option) => `AIRFLOW__${option.toUpperCase().replace('.', '__')}_SECRET`),
);

/**
 * Airflow settings whose value is a URL with its password in it: a connection (`AIRFLOW_CONN_<ID>`,
 * `scheme://login:password@host`), the metadata database (`AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`),
 * Celery's broker and result backend.
 */
const CREDENTIAL_URL_VARIABLE = /^AIRFLOW_CONN_|(SQL_ALCHEMY_CONN|BROKER_URL|RESULT_BACKEND)$/i;

/**
 * A credential in a value, whatever its variable's name: a URL with a password, a setting named
 * like a secret with a value (`"client_secret": "..."` in `AIRFLOW__SECRETS__BACKEND_KWARGS`, which
 * Key Vault's secrets backend accepts; `Password=...` in a connection string), or a credential known
 * by its shape: a SAS signature (`sig=`, in a URL or a `SharedAccessSignature`), a private key, a
 * JWT, an Entra ID client secret (`<3 characters><digit>Q~...`), a storage account key (64 bytes in base64).
 */
const CREDENTIAL_IN_VALUE = [
  // The scheme from its first letter only: tried from every letter of a long word, it would take time squared.
  /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i,
  /["']?\b(?:client_secret|client_certificate_password|password|passwd|pwd|account_?key|shared_?access_?key|sas_?token)["']?\s*[:=]\s*(?!null\b)[^\s,;}]/i,
  /(?:^|[?&;=\s"'])sig=[^\s&;"']/i,
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/,
  /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/,
  /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/,
];

/** Whether `text` holds a credential, whatever it is the value of. */
export function holdsCredential(text: string): boolean {
  return CREDENTIAL_IN_VALUE.some((pattern) => pattern.test(text));
}

/** The names of `environment` whose name or value holds a secret, in its order. */
export function secretVariables(environment: Readonly<Record<string, string>>): string[] {
  return Object.entries(environment)
    .filter(
      ([name, value]) =>
        (SECRET_VARIABLE_NAME.test(name) && !SECRET_REFERENCE_VARIABLES.has(name)) ||
        CREDENTIAL_URL_VARIABLE.test(name) ||
        holdsCredential(String(value)),
    )
    .map(([name]) => name);
}
