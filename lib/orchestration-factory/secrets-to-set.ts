import { defaultConnectionStringSecretName } from '../plan/rules';
import { MigrationPlan } from '../plan/types';
import { AIRFLOW_SIGN_IN_SECRET_NAME, airflowConnectionSecretName } from '../private/airflow-connection-secrets';

/**
 * The Key Vault secret of a SqlVm target's connection string, which Data Factory's SQL pipelines read
 * with `sqlAccess: dataFactory` (the DAG's `sql_access_data_factory.default_secret_name`: no plan field names it).
 */
export function sqlVmConnectionStringSecretName(targetName: string): string {
  return defaultConnectionStringSecretName(targetName);
}

/** The Data Factory linked service of a source server (`ls_sql_<name with - as _>`). */
export function sourceLinkedServiceName(serverName: string): string {
  return `ls_sql_${serverName.replace(/-/g, '_')}`;
}

const AS_CONNECTION = 'as an Airflow connection URI or JSON (docs/secrets.md)';

/**
 * Every Key Vault secret a person sets after the first deploy for `plan`, each with what it holds:
 * names and descriptions only, never a value. The names are the plan's own (`connectionId`,
 * `connectionStringSecretName`, their defaults filled in by the plan's loader), so this is what the
 * linked services, the SQL pipelines and the DAG read. A secret two entries name (one share login for
 * two servers) is listed once, with both uses.
 */
export function secretsToSet(plan: MigrationPlan): Readonly<Record<string, string>> {
  const secrets = new Map<string, string[]>();
  const add = (name: string, what: string) => secrets.set(name, [...(secrets.get(name) ?? []), what]);
  const connection = (id: string, what: string) => add(airflowConnectionSecretName(id), `Airflow connection ${id}: ${what}, ${AS_CONNECTION}`);
  const throughFactory = plan.airflow.sqlAccess === 'dataFactory';

  for (const server of plan.sourceServers) {
    add(
      server.connectionStringSecretName,
      `SQL Server connection string of source server ${server.name} (${server.host}) for Data Factory's linked service ` +
        `${sourceLinkedServiceName(server.name)}, with Encrypt=True;TrustServerCertificate=False (docs/secrets.md)`,
    );
    connection(server.connectionId, `the SQL login DMS and the DAG use on source server ${server.name} (${server.host})`);
    if (server.backupFileShare !== undefined) {
      connection(
        server.backupFileShare.connectionId,
        `the Windows login (DOMAIN\\user) and password DMS reads backup share ${server.backupFileShare.path} of source server ${server.name} with`,
      );
    }
  }
  for (const target of plan.targetServers) {
    const uses = target.kind === 'SqlDb' ? 'DMS and the DAG use' : 'the DAG uses';
    connection(target.connectionId, `the login ${uses} on ${target.kind} target ${target.name} (host: its server's DNS name)`);
    if (throughFactory && target.kind === 'SqlVm') {
      add(
        sqlVmConnectionStringSecretName(target.name),
        `SQL Server connection string of SqlVm target ${target.name} for Data Factory's SQL pipelines (sqlAccess: dataFactory), ` +
          'with Encrypt=True;TrustServerCertificate=False (docs/secrets.md)',
      );
    }
  }
  if (plan.backupStorage !== undefined) {
    const account = plan.backupStorage.storageAccountResourceId.split('/').pop();
    connection(plan.backupStorage.connectionId, `the access key of backup storage account ${account} as its password (DMS stages backups there)`);
  }
  if (plan.airflow.host === 'kubernetes' && plan.airflow.kubernetes.signIn !== undefined) {
    add(
      AIRFLOW_SIGN_IN_SECRET_NAME,
      `the client secret of app registration ${plan.airflow.kubernetes.signIn.clientId} people sign in to the Airflow UI with ` +
        "(airflow.kubernetes.signIn); the API server reads it when it starts: restart it after setting a new one (docs/airflow-sign-in.md)",
    );
  }
  return Object.fromEntries([...secrets].map(([name, uses]) => [name, uses.join('; also ')]));
}

/**
 * `text` as a literal string of Terraform JSON: Terraform reads `${` and `%{` in any string as the start
 * of a template (a share path may hold them), so they are written `$${` and `%%{`, which it reads back as they were.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/([$%])\{/g, '$1$1{');
}

