import { IDataFactory, IEventIngestion, IKeyVault } from '../core/references';
import type { AirflowHostKind } from './airflow-host';
import { IMigrationService } from '../migration-service';
import { AIRFLOW_CONNECTIONS_PREFIX } from '../private/airflow-connection-secrets';
import { DATA_FACTORY, EVENT_INGESTION, KEY_VAULT, MIGRATION_SERVICE } from '../private/prop-checks';
import { requireFunctionProps } from '../private/required-fields';

/** Props of {@link dagEnvironment}: where the DAG finds what it drives and where it reports. */
export interface DagEnvironmentProps {
  /**
   * The plan this Airflow runs (`MIGRATION_PLAN_NAME`): the DAG refuses to import another plan, so a
   * second plan's stack importing into the same Airflow is an import error, not that plan driving
   * this one's migration service. One Airflow runs one plan.
   */
  readonly planName: string;
  /** Entra ID tenant of every identity (`AZURE_TENANT_ID`). */
  readonly tenantId: string;
  /** Subscription of the migration service (`AZURE_SUBSCRIPTION_ID`). */
  readonly subscriptionId: string;
  /** The Database Migration Service the DAG drives (`MIGRATION_DMS_RESOURCE_ID`). */
  readonly migrationService: IMigrationService;
  /**
   * Where the DAG writes its events (Logs Ingestion API).
   * @default - none: events stay in the task logs
   */
  readonly eventIngestion?: IEventIngestion;
  /** Airflow's secrets backend: connections are `airflow-connections-<id>` secrets. */
  readonly keyVault: IKeyVault;
  /**
   * The factory that runs the SQL pipelines (`sqlAccess: dataFactory`; `MIGRATION_DATA_FACTORY_ID`).
   * @default - none: the DAG connects to SQL Server directly
   */
  readonly dataFactory?: IDataFactory;
}

/**
 * What a host that runs Airflow's triggerer adds to the environment: the DAG's waits then defer
 * to it instead of rescheduling (`MIGRATION_WAIT_MODE`, dags/README.md "Time and concurrency").
 */
export const DEFERRABLE_WAITS: Readonly<Record<string, string>> = { MIGRATION_WAIT_MODE: 'deferrable' };

/**
 * Whether each host runs Airflow's triggerer, which resumes deferred waits: the Kubernetes host's
 * chart (`triggerer.enabled`) and Fabric's job definition (`enableTriggerers`) do; Data Factory's
 * Workflow Orchestration Manager has none ("Deferrable Operators ... No", MicrosoftDocs/fabric-docs
 * `apache-airflow-jobs-concepts.md`); an external Airflow's is its team's to know.
 */
export const HOST_RUNS_TRIGGERER: Readonly<Record<AirflowHostKind, boolean | undefined>> = {
  kubernetes: true,
  fabric: true,
  dataFactory: false,
  external: undefined,
};

/** The Key Vault secrets backend of the Microsoft Azure provider for Airflow. */
const KEY_VAULT_BACKEND = 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend';

/**
 * The environment variables the DAG reads, wherever it runs: ids and endpoints only, never a
 * secret. `AZURE_CLIENT_ID` is not among them: each host sets its own identity's.
 */
export function dagEnvironment(props: DagEnvironmentProps): Record<string, string> {
  requireFunctionProps('dagEnvironment', props, {
    planName: 'string',
    tenantId: 'string',
    subscriptionId: 'string',
    migrationService: MIGRATION_SERVICE,
    eventIngestion: { ifGiven: EVENT_INGESTION },
    keyVault: KEY_VAULT,
    dataFactory: { ifGiven: DATA_FACTORY },
  });
  const ingestion = props.eventIngestion;
  return {
    AZURE_TENANT_ID: props.tenantId,
    AZURE_SUBSCRIPTION_ID: props.subscriptionId,
    MIGRATION_PLAN_NAME: props.planName,
    MIGRATION_DMS_RESOURCE_ID: props.migrationService.id,
    ...(ingestion && {
      MIGRATION_EVENTS_ENDPOINT: ingestion.endpointUrl,
      MIGRATION_EVENTS_RULE_ID: ingestion.dataCollectionRuleImmutableId,
      MIGRATION_EVENTS_STREAM: ingestion.streamName,
    }),
    ...(props.dataFactory !== undefined && { MIGRATION_DATA_FACTORY_ID: props.dataFactory.id }),
    AIRFLOW__SECRETS__BACKEND: KEY_VAULT_BACKEND,
    AIRFLOW__SECRETS__BACKEND_KWARGS: `{"connections_prefix": "${AIRFLOW_CONNECTIONS_PREFIX}", "variables_prefix": null, "config_prefix": null, "vault_url": "${props.keyVault.vaultUri}"}`,
  };
}
