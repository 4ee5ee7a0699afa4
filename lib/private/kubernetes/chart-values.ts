import type { AirflowExecutor } from '../../hosts/kubernetes/kubernetes-host';
import type { PoolsImportJobValues } from './pools-import';
import { POSTGRES_ROOT_CA_BUNDLE } from './postgres-root-cas';
import { SIGN_IN_AUTH_MANAGER, SIGN_IN_REVISION_ANNOTATION, SignInConfig, signInWebserverConfig } from './sign-in';
import { AIRFLOW_VERSION } from './versions';

/**
 * The Helm values this host sets on the official Apache Airflow chart, typed. Only keys the host
 * sets are declared; each exists in the chart's `values.schema.json` (vendored in
 * `vendor/airflow-chart/`, and a test validates the synthesized values against it).
 */

/** `<component>.serviceAccount` */
export interface ServiceAccountValues {
  readonly create: boolean;
  /** Fixed name, so the federated credential's subject is known before the chart renders. */
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The values every Airflow component the host configures shares. */
export interface ComponentValues {
  /** Pod labels (the workload-identity label). */
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: ServiceAccountValues;
}

/** A component that runs a fixed number of pods. */
export interface ReplicatedComponentValues extends ComponentValues {
  readonly replicas: number;
}

/** `<component>.podDisruptionBudget`: the chart renders a `PodDisruptionBudget` for the component's pods. */
export interface PodDisruptionBudgetValues {
  readonly enabled: true;
  /** The chart's default; `minAvailable` is the alternative, never both. */
  readonly config: { readonly maxUnavailable: 1 };
}

/** A Kubernetes `Volume` (projected config maps only: the DAG folder). */
export interface ProjectedVolume {
  readonly name: string;
  readonly projected: {
    readonly sources: ReadonlyArray<{
      readonly configMap: { readonly name: string; readonly items: ReadonlyArray<{ readonly key: string; readonly path: string }> };
    }>;
  };
}

/** A Kubernetes `VolumeMount`. */
export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** The chart values the Kubernetes host sets. */
export interface AirflowChartValues {
  readonly defaultAirflowRepository: string;
  readonly defaultAirflowTag: string;
  readonly airflowVersion: string;
  readonly executor: AirflowExecutor;
  readonly fernetKeySecretName: string;
  readonly webserverSecretKeySecretName: string;
  readonly apiSecretKeySecretName: string;
  readonly jwtSecretName: string;
  readonly data: { readonly metadataSecretName: string; readonly brokerUrlSecretName?: string };
  readonly postgresql: { readonly enabled: false };
  readonly pgbouncer: {
    readonly enabled: true;
    readonly replicas: number;
    readonly configSecretName: string;
    /** `ca`: the chart writes it to `/etc/pgbouncer/root.crt` in the PgBouncer container ({@link PGBOUNCER_SERVER_CA_FILE}). */
    readonly ssl: { readonly ca: string };
    readonly metricsExporterSidecar: { readonly statsSecretName: string; readonly statsSecretKey: string };
    readonly podAnnotations: Readonly<Record<string, string>>;
    readonly podDisruptionBudget: PodDisruptionBudgetValues;
  };
  readonly redis: { readonly enabled: boolean; readonly passwordSecretName?: string; readonly podAnnotations?: Readonly<Record<string, string>> };
  readonly statsd: { readonly enabled: true };
  readonly scheduler: ReplicatedComponentValues & { readonly podDisruptionBudget: PodDisruptionBudgetValues };
  /**
   * With one service account for Celery workers and KubernetesExecutor pods alike. `replicas` is
   * deprecated for `celery.replicas` (apache/airflow#59730), which wins whenever it is not null: the
   * host sets both to the Celery worker count, so no chart default of `celery.replicas` replaces it.
   */
  readonly workers: ReplicatedComponentValues & {
    readonly useWorkerDedicatedServiceAccounts: false;
    readonly celery: { readonly replicas: number };
  };
  readonly triggerer: ReplicatedComponentValues & { readonly enabled: true };
  /** Parses DAG files only (no task code, no secrets backend): no Azure identity. */
  readonly dagProcessor: { readonly enabled: true; readonly replicas: number };
  readonly apiServer: ReplicatedComponentValues & {
    readonly defaultUser: { readonly enabled: false };
    readonly podDisruptionBudget: PodDisruptionBudgetValues;
    /** With sign-in: the `webserver_config.py` the chart mounts into the API server (FAB reads it at start). */
    readonly apiServerConfig?: string;
    /** With sign-in: the settings' revision, which rolls the API server when they change. */
    readonly podAnnotations?: Readonly<Record<string, string>>;
  };
  /** Airflow 2's webserver section; its default user is switched off too, whatever the chart reads. */
  readonly webserver: { readonly defaultUser: { readonly enabled: false } };
  readonly dags: { readonly persistence: { readonly enabled: false }; readonly gitSync: { readonly enabled: false } };
  readonly volumes: readonly ProjectedVolume[];
  readonly volumeMounts: readonly VolumeMount[];
  readonly airflowPodAnnotations: Readonly<Record<string, string>>;
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** The chart's database-migration job, which also imports the DAG's pools. */
  readonly migrateDatabaseJob: PoolsImportJobValues & { readonly useHelmHooks: false; readonly ttlSecondsAfterFinished: number };
  readonly createUserJob: { readonly useHelmHooks: false };
  readonly config: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Release name: the chart names its objects `<release>-<component>` after it. */
export const RELEASE_NAME = 'airflow';
/** How long one `helm upgrade` may take, its wait for the pods and jobs included (`timeout` of the release). */
export const RELEASE_TIMEOUT_SECONDS = 1200;
/**
 * The chart's `ports` the host relies on, at the chart's defaults (the values set none):
 * `apiServer` the API server's container port (UI, REST and Execution API), `workerLogs` and
 * `triggererLogs` the log servers the API server reads task and trigger logs from, `redisDB` the
 * Celery broker, `statsdIngest` (UDP) and `statsdScrape` the statsd exporter, `pgbouncer` PgBouncer.
 */
export const CHART_PORTS = {
  apiServer: 8080,
  workerLogs: 8793,
  triggererLogs: 8794,
  redisDB: 6379,
  statsdIngest: 9125,
  statsdScrape: 9102,
  pgbouncer: 6543,
} as const;
/** Where the chart mounts DAGs (`dags.mountPath` default: `<airflowHome>/dags`). */
export const DAGS_MOUNT_PATH = '/opt/airflow/dags';
/** Pod label that makes the workload-identity webhook inject the token and AZURE_* variables. */
export const WORKLOAD_IDENTITY_LABEL = 'azure.workload.identity/use';
/** Service-account annotation that names the identity's client id. */
export const WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
/**
 * Where the chart mounts `pgbouncer.ssl.ca` in the PgBouncer container (its
 * `templates/pgbouncer/pgbouncer-deployment.yaml`, subPath `root.crt` of the secret
 * `<release>-pgbouncer-certificates`); the chart's own `pgbouncer.ini` names the same path as
 * `server_tls_ca_file` (`templates/_helpers.yaml`, `pgbouncer_config`).
 */
export const PGBOUNCER_SERVER_CA_FILE = '/etc/pgbouncer/root.crt';
/** Pod annotation carrying the DAG bundle's hash: a new bundle rolls every Airflow pod. */
export const DAG_BUNDLE_HASH_ANNOTATION = 'checksum/dag-bundle';
/**
 * Pod annotation carrying the id of the generated secrets' generation: a new generation rolls the
 * Airflow, PgBouncer and Redis pods, which read those secrets only at start (environment variables,
 * PgBouncer's `subPath` mounts, Redis's `--requirepass`).
 */
export const SECRETS_GENERATION_ANNOTATION = 'checksum/secrets-generation';

/**
 * Service account of each Airflow component that acts in Azure. The workers run the tasks: they
 * are federated to the identity the DAG acts as (DMS, SQL targets, events). The others only read
 * the Key Vault secrets backend (the API server serves connections to tasks in Airflow 3): they are
 * federated to a second identity that can do nothing else, so a compromised API server cannot
 * drive migrations.
 */
export const AIRFLOW_SERVICE_ACCOUNTS = {
  scheduler: `${RELEASE_NAME}-scheduler`,
  workers: `${RELEASE_NAME}-worker`,
  triggerer: `${RELEASE_NAME}-triggerer`,
  apiServer: `${RELEASE_NAME}-api-server`,
} as const;

/** The components that act as the task identity; the rest act as the secrets reader. */
export const TASK_SERVICE_ACCOUNTS: readonly string[] = [AIRFLOW_SERVICE_ACCOUNTS.workers];
export const SECRETS_READER_SERVICE_ACCOUNTS: readonly string[] = [
  AIRFLOW_SERVICE_ACCOUNTS.scheduler,
  AIRFLOW_SERVICE_ACCOUNTS.triggerer,
  AIRFLOW_SERVICE_ACCOUNTS.apiServer,
];

/** Names of the Kubernetes secrets Terraform creates (write-only) and the chart reads. */
export interface ChartSecretNames {
  /** Keys `connection` (Airflow to PgBouncer), `pgbouncer.ini`, `users.txt`, `stats-connection`. */
  readonly database: string;
  /** Key `fernet-key`. */
  readonly fernetKey: string;
  /** Key `webserver-secret-key`. */
  readonly webserverSecretKey: string;
  /** Key `api-secret-key`. */
  readonly apiSecretKey: string;
  /** Key `jwt-secret`. */
  readonly jwtSecret: string;
  /** Keys `password` and `connection` (the broker URL); Celery only. */
  readonly redis: string;
}

/** Inputs of {@link airflowChartValues}. */
export interface AirflowChartValuesInput {
  readonly executor: AirflowExecutor;
  readonly imageRepository: string;
  readonly imageTag: string;
  /** Client id of the identity the tasks act as (the workers). */
  readonly identityClientId: string;
  /** Client id of the identity that only reads Key Vault (scheduler, triggerer, API server). */
  readonly secretsReaderClientId: string;
  readonly secrets: ChartSecretNames;
  readonly dagVolume: ProjectedVolume;
  readonly dagBundleHash: string;
  /** Id of the generated secrets' generation (a Terraform reference). */
  readonly secretsGeneration: string;
  /** Environment of every Airflow container (ids and endpoints only). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Replicas of the scheduler, API server, triggerer and PgBouncer (2 survives a node drain: the
   * scheduler's, API server's and PgBouncer's disruption budgets let a drain evict one pod at a time).
   */
  readonly replicas: number;
  /** Celery workers (CeleryExecutor only). */
  readonly celeryWorkers: number;
  /** What the database-migration job runs and mounts to import the pools. */
  readonly poolsImport: PoolsImportJobValues;
  /** Entra ID sign-in to the Airflow UI. @default - none: no auth manager configured, nobody signs in */
  readonly signIn?: SignInConfig;
}

/** The chart values of the Kubernetes host. */
export function airflowChartValues(input: AirflowChartValuesInput): AirflowChartValues {
  const celery = input.executor === 'CeleryExecutor';
  const celeryWorkers = celery ? input.celeryWorkers : 0;
  const secretsGeneration = { [SECRETS_GENERATION_ANNOTATION]: input.secretsGeneration };
  // AKS drains nodes for upgrades, node-image updates and autoscaler scale-down, several at a time with
  // maxSurge, and evicts through the eviction API: without a budget both replicas can go at once.
  const podDisruptionBudget: PodDisruptionBudgetValues = { enabled: true, config: { maxUnavailable: 1 } };
  const component = (serviceAccount: string, replicas: number): ReplicatedComponentValues => ({
    replicas,
    labels: { [WORKLOAD_IDENTITY_LABEL]: 'true' },
    serviceAccount: {
      create: true,
      name: serviceAccount,
      annotations: {
        [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: TASK_SERVICE_ACCOUNTS.includes(serviceAccount) ? input.identityClientId : input.secretsReaderClientId,
      },
    },
  });
  return {
    defaultAirflowRepository: input.imageRepository,
    defaultAirflowTag: input.imageTag,
    airflowVersion: AIRFLOW_VERSION,
    executor: input.executor,
    fernetKeySecretName: input.secrets.fernetKey,
    webserverSecretKeySecretName: input.secrets.webserverSecretKey,
    apiSecretKeySecretName: input.secrets.apiSecretKey,
    jwtSecretName: input.secrets.jwtSecret,
    data: celery
      ? { metadataSecretName: input.secrets.database, brokerUrlSecretName: input.secrets.redis }
      : { metadataSecretName: input.secrets.database },
    postgresql: { enabled: false },
    pgbouncer: {
      enabled: true,
      replicas: input.replicas,
      configSecretName: input.secrets.database,
      // The roots of the metadata server's certificate, which PgBouncer verifies (verify-full).
      ssl: { ca: POSTGRES_ROOT_CA_BUNDLE },
      metricsExporterSidecar: { statsSecretName: input.secrets.database, statsSecretKey: 'stats-connection' },
      podAnnotations: secretsGeneration,
      podDisruptionBudget,
    },
    redis: celery ? { enabled: true, passwordSecretName: input.secrets.redis, podAnnotations: secretsGeneration } : { enabled: false },
    statsd: { enabled: true },
    scheduler: { ...component(AIRFLOW_SERVICE_ACCOUNTS.scheduler, input.replicas), podDisruptionBudget },
    workers: {
      ...component(AIRFLOW_SERVICE_ACCOUNTS.workers, celeryWorkers),
      useWorkerDedicatedServiceAccounts: false,
      celery: { replicas: celeryWorkers },
    },
    triggerer: { ...component(AIRFLOW_SERVICE_ACCOUNTS.triggerer, input.replicas), enabled: true },
    dagProcessor: { enabled: true, replicas: 1 },
    // No admin/admin user: people sign in with Entra ID (signIn), or through whatever auth the platform team configures.
    apiServer: {
      ...component(AIRFLOW_SERVICE_ACCOUNTS.apiServer, input.replicas),
      defaultUser: { enabled: false },
      podDisruptionBudget,
      ...(input.signIn === undefined
        ? {}
        : { apiServerConfig: signInWebserverConfig(input.signIn), podAnnotations: { [SIGN_IN_REVISION_ANNOTATION]: input.signIn.revision } }),
    },
    webserver: { defaultUser: { enabled: false } },
    dags: { persistence: { enabled: false }, gitSync: { enabled: false } },
    volumes: [input.dagVolume],
    volumeMounts: [{ name: input.dagVolume.name, mountPath: DAGS_MOUNT_PATH, readOnly: true }],
    airflowPodAnnotations: { [DAG_BUNDLE_HASH_ANNOTATION]: input.dagBundleHash, ...secretsGeneration },
    env: Object.entries({ ...input.environment, ...(input.signIn === undefined ? {} : signInEnvironment()) }).map(([name, value]) => ({ name, value })),
    // Helm hooks would run after `wait` gives up; the chart's install guide (docs/helm-chart/index.rst)
    // says to turn them off with --wait.
    // The release waits for the job after the Deployments and StatefulSets, and fails if it is gone by
    // then ("not found"): it must outlive the wait, which ends within the release's timeout after the
    // job starts (the chart's 300 s can end first, while Celery workers drain). MigrationJobReset
    // deletes it before the next apply that changes the release.
    migrateDatabaseJob: { useHelmHooks: false, ttlSecondsAfterFinished: RELEASE_TIMEOUT_SECONDS, ...input.poolsImport },
    createUserJob: { useHelmHooks: false },
    config: { core: { load_examples: 'False' } },
  };
}

/**
 * With sign-in, every Airflow process (the API server, and the CLI and `airflow db migrate`, which
 * load the auth manager too) uses the FAB auth manager of the DAG package, importable from the DAG
 * folder every Airflow container mounts.
 */
function signInEnvironment(): Record<string, string> {
  return { AIRFLOW__CORE__AUTH_MANAGER: SIGN_IN_AUTH_MANAGER, PYTHONPATH: DAGS_MOUNT_PATH };
}
