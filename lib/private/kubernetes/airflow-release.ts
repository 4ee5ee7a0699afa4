import { createHash } from 'node:crypto';
import { Release } from '@cdktf/provider-helm/lib/release';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { ITerraformDependable, TerraformProvider, TerraformResourceLifecycle } from 'cdktf';
import { Construct } from 'constructs';
import { DagBundle } from '../../orchestration-factory/dag-bundle';
import type { AirflowExecutor } from '../../hosts/kubernetes/kubernetes-host';
import {
  AirflowChartValues,
  airflowChartValues,
  CHART_PORTS,
  ChartSecretNames,
  PGBOUNCER_SERVER_CA_FILE,
  RELEASE_NAME,
  RELEASE_TIMEOUT_SECONDS,
} from './chart-values';
import { DagConfigMaps } from './dag-config-maps';
import { GeneratedSecrets } from './generated-secrets';
import { MigrationJobReset } from './migration-job-reset';
import { AirflowNetworkPolicies } from './network-policies';
import { AirflowPoolsImport } from './pools-import';
import { SignInConfig } from './sign-in';
import { AIRFLOW_CHART } from './versions';
import { requireTerraformVersion } from '../terraform-version';

/** Props of {@link AirflowRelease}. */
export interface AirflowReleaseProps {
  /** Provider of the namespace, secrets and config maps. */
  readonly kubernetesProvider: TerraformProvider;
  /** Provider of the Helm release. */
  readonly helmProvider: TerraformProvider;
  /** Namespace the release is installed into (created here). */
  readonly namespace: string;
  /** Celery workers or one pod per task. */
  readonly executor: AirflowExecutor;
  /** Repository of the Airflow image with the DAG requirements. */
  readonly imageRepository: string;
  /** Tag of that image. */
  readonly imageTag: string;
  /** Client id the workers' service account is annotated with (the identity tasks act as). */
  readonly identityClientId: string;
  /** Client id the other Airflow service accounts are annotated with (Key Vault reads only). */
  readonly secretsReaderClientId: string;
  /** The DAG package and the rendered plan, delivered as config maps. */
  readonly bundle: DagBundle;
  /** Environment of every Airflow container (ids and endpoints only). */
  readonly environment: Readonly<Record<string, string>>;
  /** The metadata database Airflow reaches through PgBouncer. */
  readonly database: { readonly host: string; readonly name: string; readonly login: string; readonly password: string };
  /** Generates the chart's other secrets and versions every write-only value. */
  readonly secrets: GeneratedSecrets;
  /** Replicas of the scheduler, API server, triggerer and PgBouncer. */
  readonly replicas: number;
  /** Celery workers (CeleryExecutor only). */
  readonly celeryWorkers: number;
  /** The pools file the chart's database-migration job imports. */
  readonly poolsImport: AirflowPoolsImport;
  /** What must exist before the chart installs (in this stack; what the host's own stack creates exists already). */
  readonly dependsOn: readonly ITerraformDependable[];
  /** Whether the namespace gets the least-privilege ingress policies ({@link AirflowNetworkPolicies}). */
  readonly networkPoliciesEnabled: boolean;
  /** Entra ID sign-in to the Airflow UI. @default - none */
  readonly signIn?: SignInConfig;
}

/** The database alias PgBouncer's config declares. */
const PGBOUNCER_DATABASE = `${RELEASE_NAME}-metadata`;
const PGBOUNCER_PORT = CHART_PORTS.pgbouncer;
const REDIS_PORT = CHART_PORTS.redisDB;

/**
 * The official Apache Airflow chart on the cluster: its namespace, the secrets it reads (written
 * write-only: values in neither plan nor state), the DAG folder as config maps, and the Helm
 * release with typed values, an external metadata database behind PgBouncer and a triggerer.
 */
export class AirflowRelease extends Construct {
  /** The `helm_release`. */
  public readonly release: Release;
  /** The values given to the chart (the synthesized YAML is `JSON.stringify` of this). */
  public readonly values: AirflowChartValues;
  /** Names of the Kubernetes secrets the chart reads. */
  public readonly secretNames: ChartSecretNames;
  /** The DAG folder's config maps. */
  public readonly dagConfigMaps: DagConfigMaps;
  /** The namespace's ingress policies, unless turned off. */
  public readonly networkPolicies?: AirflowNetworkPolicies;
  /** Deletes the finished migration job before an apply that changes the release. */
  public readonly migrationJobReset: MigrationJobReset;

  constructor(scope: Construct, id: string, props: AirflowReleaseProps) {
    super(scope, id);
    const provider = props.kubernetesProvider;
    const namespace = new NamespaceV1(this, 'Namespace', {
      provider,
      metadata: {
        name: props.namespace,
        labels: { 'pod-security.kubernetes.io/enforce': 'baseline', 'app.kubernetes.io/part-of': 'airflow' },
      },
    });
    const namespaceName = namespace.metadata.name;
    this.secretNames = {
      database: `${RELEASE_NAME}-database`,
      fernetKey: `${RELEASE_NAME}-fernet-key`,
      webserverSecretKey: `${RELEASE_NAME}-webserver-secret-key`,
      apiSecretKey: `${RELEASE_NAME}-api-secret-key`,
      jwtSecret: `${RELEASE_NAME}-jwt-secret`,
      redis: `${RELEASE_NAME}-redis`,
    };
    requireTerraformVersion(this); // the secrets' data_wo
    const secret = (secretId: string, name: string, data: Record<string, string>, lifecycle?: TerraformResourceLifecycle): SecretV1 =>
      new SecretV1(this, secretId, {
        provider,
        metadata: { name, namespace: namespaceName },
        type: 'Opaque',
        dataWo: data,
        dataWoRevision: props.secrets.version,
        lifecycle,
      });

    const { host, name: databaseName, login, password } = props.database;
    const pgbouncerHost = `${RELEASE_NAME}-pgbouncer.${props.namespace}`;
    const databaseSecret = secret('DatabaseSecret', this.secretNames.database, databaseSecretData(host, databaseName, login, password, pgbouncerHost));
    const chartSecrets = [
      databaseSecret,
      // The Fernet key encrypts the Variables the DAG keeps its records in (handoffs, admissions, the
      // sources' access before a freeze) in the metadata database, which outlives a generation. The
      // value is stored nowhere, so a new one could not keep the old as `new,old`: a new generation
      // leaves this secret alone (the provider writes `data_wo` on create, and on update only when
      // the revision changes). Only a new secret (another namespace, a new cluster) gets a new key.
      secret('FernetKey', this.secretNames.fernetKey, { 'fernet-key': props.secrets.value('FernetKeyValue', 'fernetKey') }, {
        ignoreChanges: ['data_wo_revision'],
      }),
      secret('WebserverSecretKey', this.secretNames.webserverSecretKey, {
        'webserver-secret-key': props.secrets.value('WebserverSecretKeyValue', 'signingKey'),
      }),
      secret('ApiSecretKey', this.secretNames.apiSecretKey, { 'api-secret-key': props.secrets.value('ApiSecretKeyValue', 'signingKey') }),
      secret('JwtSecret', this.secretNames.jwtSecret, { 'jwt-secret': props.secrets.value('JwtSecretValue', 'signingKey') }),
    ];
    if (props.executor === 'CeleryExecutor') {
      const redisPassword = props.secrets.value('RedisPassword', 'password');
      chartSecrets.push(
        secret('RedisSecret', this.secretNames.redis, {
          password: redisPassword,
          connection: `redis://:${redisPassword}@${RELEASE_NAME}-redis:${REDIS_PORT}/0`,
        }),
      );
    }

    this.dagConfigMaps = new DagConfigMaps(this, 'Dags', {
      bundle: props.bundle,
      namespace: namespaceName,
      provider,
      namePrefix: `${RELEASE_NAME}-dags`,
    });

    this.values = airflowChartValues({
      executor: props.executor,
      imageRepository: props.imageRepository,
      imageTag: props.imageTag,
      identityClientId: props.identityClientId,
      secretsReaderClientId: props.secretsReaderClientId,
      secrets: this.secretNames,
      dagVolume: this.dagConfigMaps.volume,
      dagBundleHash: props.bundle.contentHash,
      secretsGeneration: props.secrets.generationId,
      environment: props.environment,
      replicas: props.replicas,
      celeryWorkers: props.celeryWorkers,
      poolsImport: props.poolsImport.jobValues,
      signIn: props.signIn,
    });
    if (props.networkPoliciesEnabled) {
      this.networkPolicies = new AirflowNetworkPolicies(this, 'NetworkPolicies', { provider, namespace: namespaceName, values: this.values });
    }
    // JSON is YAML: the typed values go to the chart as they are.
    const values = JSON.stringify(this.values);
    this.migrationJobReset = new MigrationJobReset(this, 'MigrationJobReset', {
      provider,
      namespace: namespaceName,
      image: `${props.imageRepository}:${props.imageTag}`,
      releaseInputs: { chart: `${AIRFLOW_CHART.name}-${AIRFLOW_CHART.version}`, values },
      dependsOn: props.dependsOn,
    });
    this.release = new Release(this, 'Release', {
      provider: props.helmProvider,
      name: RELEASE_NAME,
      namespace: namespaceName,
      repository: AIRFLOW_CHART.repository,
      chart: AIRFLOW_CHART.name,
      version: AIRFLOW_CHART.version,
      values: [values],
      wait: true,
      waitForJobs: true,
      atomic: false,
      timeout: RELEASE_TIMEOUT_SECONDS,
      maxHistory: 10,
      dependsOn: [...chartSecrets, ...this.dagConfigMaps.configMaps, props.poolsImport.configMap, this.migrationJobReset.job, ...props.dependsOn],
    });
  }
}

/** The database secret: Airflow's metadata connection through PgBouncer, PgBouncer's configuration and users. */
function databaseSecretData(host: string, databaseName: string, login: string, password: string, pgbouncerHost: string): Record<string, string> {
  return {
    connection: `postgresql://${login}:${password}@${pgbouncerHost}:${PGBOUNCER_PORT}/${PGBOUNCER_DATABASE}?sslmode=disable`,
    'pgbouncer.ini': pgbouncerIni(host, databaseName, login),
    'users.txt': `"${login}" "${password}"\n`,
    'stats-connection': `postgresql://${login}:${password}@127.0.0.1:${PGBOUNCER_PORT}/pgbouncer?sslmode=disable`,
  };
}

/**
 * A fingerprint of how the library writes the database secret, its values left out. The secret is
 * write-only and sent only with a new generation of the generated secrets, so the host makes this a
 * trigger of the generation: a library that writes it otherwise (PgBouncer's TLS settings, say) starts
 * a new generation on upgrade, and the deployed stack gets the new configuration with a new password.
 */
export const DATABASE_SECRET_LAYOUT = createHash('sha256')
  .update(JSON.stringify(databaseSecretData('<host>', '<database>', '<login>', '<password>', '<pgbouncer>')))
  .digest('hex')
  .slice(0, 16);

/**
 * PgBouncer in front of the Flexible Server: transaction pooling, TLS to the server with its
 * certificate verified against Azure's PostgreSQL roots and its name checked against `host`, the
 * server's FQDN `<server>.postgres.database.azure.com` (the name Microsoft's verify-full example
 * dials; inside the VNet it resolves through the server's private DNS zone).
 */
function pgbouncerIni(host: string, databaseName: string, login: string): string {
  return [
    '[databases]',
    `${PGBOUNCER_DATABASE} = host=${host} dbname=${databaseName} port=5432 pool_size=10`,
    '',
    '[pgbouncer]',
    'pool_mode = transaction',
    `listen_port = ${PGBOUNCER_PORT}`,
    'listen_addr = *',
    'auth_type = scram-sha-256',
    'auth_file = /etc/pgbouncer/users.txt',
    `stats_users = ${login}`,
    'ignore_startup_parameters = extra_float_digits',
    'max_client_conn = 200',
    'verbose = 0',
    'log_disconnections = 0',
    'log_connections = 0',
    // The Flexible Server requires TLS (require_secure_transport is on by default); verify-full also
    // refuses a server whose certificate does not chain to a trusted root or does not name `host`.
    'server_tls_sslmode = verify-full',
    `server_tls_ca_file = ${PGBOUNCER_SERVER_CA_FILE}`,
    'server_tls_ciphers = normal',
    '',
  ].join('\n');
}
