/** Which environment variables no host passes on: each host writes its environment in the clear (Helm values, a Fabric job definition, a plain output). */
import { withCpuMilliseconds } from '../helpers/cpu-time';
import { ENVIRONMENT } from '../helpers/host-fixtures';
import { holdsCredential, secretVariables } from '../../lib/private/secret-variables';
import { findSecrets } from './secret-scanner';

describe('secretVariables', () => {
  it('passes the ids and endpoints a stack hands every host', () => {
    expect(secretVariables(ENVIRONMENT)).toEqual([]);
  });

  it.each([
    ['AZURE_CLIENT_SECRET', 'x'],
    ['AIRFLOW__CORE__FERNET_KEY', 'x'],
    // Airflow settings whose value is a URL holding its password (was: passed on, being named like none of the above)
    ['AIRFLOW_CONN_MSSQL_SOURCE_SQL01', 'mssql://sa:Hunter2!@sql01.corp.contoso.com:1433'],
    ['AIRFLOW_CONN_BACKUP_STORAGE_KEY', '{"conn_type": "wasb", "login": "stbackups"}'],
    ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', 'postgresql://airflow@psql:5432/airflow'],
    ['AIRFLOW__CELERY__BROKER_URL', 'redis://redis:6379/0'],
    ['AIRFLOW__CELERY__RESULT_BACKEND', 'db+postgresql://airflow@psql/airflow'],
    // Airflow's option api_auth.jwt_secret itself, not a reference to it
    ['AIRFLOW__API_AUTH__JWT_SECRET', 'x'],
    // core.foo is no sensitive option: Airflow reads no reference for it, so this is just a name
    ['AIRFLOW__CORE__FOO_SECRET', 'x'],
    // Airflow reads only the upper-case name as a reference
    ['airflow__core__fernet_key_secret', 'airflow-fernet-key'],
    // Flower's logins, user:password (was: passed on, its value being no URL)
    ['AIRFLOW__CELERY__FLOWER_BASIC_AUTH', 'admin:Hunter2!'],
    ['FLOWER_BASIC_AUTH', 'admin:Hunter2!,ops:Hunter3!'],
  ])('refuses %s by its name', (name, value) => {
    expect(secretVariables({ ...ENVIRONMENT, [name]: value })).toEqual([name]);
  });

  it.each([
    ['a URL with a password', 'METADATA_URL', 'postgresql://airflow:Hunter2!@psql.example.com/airflow'],
    ['a URL with a password taken from Terraform', 'SOURCE_URL', 'mssql://sa:${TfToken[TOKEN.12]}@sql01'],
    [
      "a client secret in Key Vault's secrets backend settings",
      'AIRFLOW__SECRETS__BACKEND_KWARGS',
      '{"connections_prefix": "airflow-connections", "vault_url": "https://kv.vault.azure.net/", "client_secret": "abc8Q~0123"}',
    ],
    ['a password in a connection string', 'MIGRATION_SOURCE', 'Server=sql01;User ID=sa;Password=Hunter2!;'],
    ['an account key in a connection string', 'BACKUP_STORAGE', 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0;'],
    ['a URL with a password given for a secret reference', 'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET', 'postgresql://airflow:Hunter2!@psql/airflow'],
  ])('refuses %s, whatever its variable is named', (_, name, value) => {
    expect(secretVariables({ ...ENVIRONMENT, [name]: value })).toEqual([name]);
  });

  // The shapes the scan of the synthesized JSON knows (secret-scanner.ts), under names that say nothing (were passed on).
  it.each([
    ['a SAS signature in a URL', 'BACKUP_CONTAINER_URL', 'https://stbackups.blob.core.windows.net/backups?sv=2022-11-02&sp=rl&sig=AbCdEfGhIjKlMnOpQrStUvWx%3D'],
    ['a SAS in a connection string', 'BACKUP_STORAGE', 'BlobEndpoint=https://st.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=AbCdEfGhIjKlMnOpQrStUvWx%3D'],
    ['a private key', 'MIGRATION_SSH_IDENTITY', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----'],
    ['a JWT', 'AIRFLOW_VAR_API_BEARER', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJlLW5vdC1yZWFs'],
    ['an Entra ID client secret', 'AZURE_CLIENT_CREDENTIAL', 'abc8Q~0123456789abcdefghijklmnopqrstuvwx'],
    ['a storage account key', 'BACKUP_STORAGE_CREDENTIAL', `${'Zm9vYmFy'.repeat(10)}QUJDRE==`],
  ])('refuses %s, which the scan of the synthesized JSON would find', (_, name, value) => {
    expect(findSecrets({ [name]: value })).not.toEqual([]);
    expect(secretVariables({ ...ENVIRONMENT, [name]: value })).toEqual([name]);
  });

  it('passes a URL without a password, and a secret setting left empty', () => {
    expect(
      secretVariables({
        MIGRATION_EVENTS_ENDPOINT: 'https://dce-contoso-sql.westeurope-1.ingest.monitor.azure.com',
        DAG_BUNDLE_URL: 'https://st.blob.core.windows.net/airflow-dags',
        AIRFLOW__SECRETS__BACKEND_KWARGS: '{"connections_prefix": "airflow-connections", "variables_prefix": null, "client_secret": null}',
      }),
    ).toEqual([]);
  });

  it.each([
    ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET', 'sql-alchemy-conn'],
    ['AIRFLOW__CORE__FERNET_KEY_SECRET', 'fernet-key'],
    ['AIRFLOW__API_AUTH__JWT_SECRET_SECRET', 'jwt-secret'],
    ['AIRFLOW__API__SECRET_KEY_SECRET', 'api-secret-key'],
    ['AIRFLOW__WEBSERVER__SECRET_KEY_SECRET', 'webserver-secret-key'],
    ['AIRFLOW__CELERY__BROKER_URL_SECRET', 'celery-broker-url'],
    ['AIRFLOW__CELERY__FLOWER_BASIC_AUTH_SECRET', 'flower-basic-auth'],
    ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD', 'cat /var/run/secrets/airflow/sql-alchemy-conn'],
    ['AIRFLOW__CORE__FERNET_KEY_CMD', 'cat /var/run/secrets/airflow/fernet-key'],
  ])("passes %s, which names where Airflow reads the sensitive option's value from", (name, value) => {
    expect(secretVariables({ ...ENVIRONMENT, [name]: value })).toEqual([]);
  });

  // A hang detector, not a benchmark: in time squared the first shape took 0.7 s for 40,000 characters (minutes for
  // these), and the plan loader runs the check on every tag value, whatever its length (the property tests found it).
  it.each(['x', 'a+', 'a://x', 'a://:x', 'password=', 'sig=', 'QUJD', 'eyJ.', 'abc1Q~'])(
    'checks a megabyte of %j repeated in linear time',
    (shape) => {
      const text = shape.repeat(Math.ceil(1_000_000 / shape.length));
      const [, spent] = withCpuMilliseconds(() => holdsCredential(text));
      expect(spent).toBeLessThan(2000);
    },
  );
});
