import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { DataAzurermKubernetesCluster } from '@cdktf/provider-azurerm/lib/data-azurerm-kubernetes-cluster';
import { KubernetesCluster } from '@cdktf/provider-azurerm/lib/kubernetes-cluster';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ITerraformDependable, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ResourceLock } from '../../core/protection';
import { airflowConnectionSecretName } from '../../private/airflow-connection-secrets';
import { IActionGroup, ILogAnalyticsWorkspace } from '../../core/references';
import { AlertOptions } from '../../monitoring/alerts';
import { AirflowPrometheusAlertOptions, createAirflowPrometheusAlerts } from '../../monitoring/airflow-prometheus-alerts';
import { namingFacade } from '../../monitoring/monitoring-scope';
import type { MigrationMonitoring } from '../../monitoring/migration-monitoring';
import { grantReadSecrets } from '../../orchestration-factory/credential-vault';
import { AirflowRelease, DATABASE_SECRET_LAYOUT } from '../../private/kubernetes/airflow-release';
import { DEFERRABLE_WAITS } from '../dag-environment';
import { SECRETS_READER_SERVICE_ACCOUNTS, TASK_SERVICE_ACCOUNTS } from '../../private/kubernetes/chart-values';
import { AirflowCluster } from '../../private/kubernetes/cluster';
import { GeneratedSecrets } from '../../private/kubernetes/generated-secrets';
import { AirflowImageBuild } from '../../private/kubernetes/image-build';
import { kubeProviders } from '../../private/kubernetes/kube-providers';
import { MetadataDatabase } from '../../private/kubernetes/metadata-database';
import { AirflowMonitoring, statsdScrapeJob } from '../../private/kubernetes/monitoring';
import { AirflowNetwork } from '../../private/kubernetes/network';
import { AirflowPoolsImport } from '../../private/kubernetes/pools-import';
import { KEY_VAULT_PRIVATE_DNS_ZONE, PrivateEndpoints } from '../../private/kubernetes/private-endpoints';
import { AIRFLOW_VERSION } from '../../private/kubernetes/versions';
import { AirflowWorkloadIdentity } from '../../private/kubernetes/workload-identity';
import { signInRevision } from '../../private/kubernetes/sign-in';
import { KubernetesSignIn, SIGN_IN_ROLES } from './kubernetes-sign-in';
import { warn } from '../../core/warnings';
import { namedOutput } from '../../private/outputs';
import { secureDefault } from '../../private/secure-default';
import { secretVariables } from '../../private/secret-variables';
import { ensureProvider } from '../../private/ensure-provider';
import { waitForRoles } from '../../private/role-propagation';
import { KubernetesHostSettings, supportedSqlAccess } from '../../plan/airflow-schema';
import { SUBNET_ID, VM_SIZE } from '../../plan/rules';
import { AIRFLOW_HOST_REQUIRED_PROPS, AirflowHostBaseProps, AirflowIdentity, IAirflowHost, SqlAccessKind } from '../airflow-host';
import { validateNamePrefix } from '../../private/naming';
import { checkBundleForHost } from '../../private/bundle-checks';
import { ACTION_GROUP, ALERT_OPTIONS, PROMETHEUS_ALERT_OPTIONS, LOCK, LOG_ANALYTICS_WORKSPACE, PRIVATE_DNS_ZONE_ID, checkArmId, checkGuid, checkGuids, checkProp, IF_GIVEN, PASSED_ON_STRINGS, SYNTH_READ_STRINGS, requireProps } from '../../private/prop-checks';
import { checkRegion } from '../../private/azure-regions';

/** Executors the host supports: Celery workers (with Redis) or one pod per task (the plan's `airflow.kubernetes.executor`). */
export type AirflowExecutor = KubernetesHostSettings['executor'];
/** The executors the chart values, Redis and the network policies are built for; any other went to the release stack as it was. */
const AIRFLOW_EXECUTORS: readonly AirflowExecutor[] = ['CeleryExecutor', 'KubernetesExecutor'];

/** The ways kubelogin signs Terraform in to the cluster (its `--login`). */
export const KUBELOGIN_MODES = ['azurecli', 'workloadidentity', 'spn', 'msi', 'azd'] as const;

/** How Terraform signs in to the cluster through kubelogin (local accounts are off). */
export type KubeloginMode = (typeof KUBELOGIN_MODES)[number];

/**
 * kubelogin's login mode from `AIRFLOW_KUBELOGIN_MODE` (blank or unset: `undefined`, the host's
 * `azurecli`), as the package's own app reads it. A value not in {@link KUBELOGIN_MODES} throws an
 * Error naming the variable (the host would name its prop, `kubeloginMode`, which the user never set).
 */
export function kubeloginModeFromEnvironment(env: NodeJS.ProcessEnv = process.env): KubeloginMode | undefined {
  const value = env.AIRFLOW_KUBELOGIN_MODE?.trim();
  if (!value) return undefined;
  const mode = KUBELOGIN_MODES.find((known) => known === value);
  if (mode === undefined) throw new Error(`Invalid AIRFLOW_KUBELOGIN_MODE "${value}": one of ${KUBELOGIN_MODES.join(', ')}`);
  return mode;
}

/**
 * Props of {@link KubernetesAirflowHost}. The first five mirror the plan's `airflow.kubernetes`
 * section one to one; the rest are what a stack wires in.
 */
export interface KubernetesAirflowHostProps extends AirflowHostBaseProps, AirflowPrometheusAlertOptions {
  /**
   * The stack that holds what lives in the cluster or shares its generated secrets: the metadata
   * database, the Kubernetes secrets, the DAG config maps and pools file, the chart release and the
   * scrape job. It must be another stack, applied after the host's own: Terraform cannot configure
   * the kubernetes and helm providers from a cluster the same apply creates (the providers would
   * plan against a cluster that does not exist yet). The host adds the azurerm provider to it when
   * it has none, and its kubernetes and helm providers.
   */
  readonly releaseStack: TerraformStack;
  /**
   * ARM id of an existing subnet for the AKS nodes (Azure CNI overlay).
   * @default - a VNet and its subnets are created
   */
  readonly subnetId?: string;
  /** VM size of the autoscaling Airflow node pool. @default "Standard_D4ds_v5" */
  readonly nodeVmSize?: string;
  /** Fewest nodes of the Airflow pool. @default 1 */
  readonly minNodes?: number;
  /** Most nodes of the Airflow pool. @default 4 */
  readonly maxNodes?: number;
  /** Celery workers (with Redis) or one pod per task. @default "CeleryExecutor" */
  readonly executor?: AirflowExecutor;

  /** Log Analytics workspace of Container Insights. */
  readonly logAnalyticsWorkspace: ILogAnalyticsWorkspace;
  /** Action group every Airflow alert acts through (`MigrationMonitoring.actionGroup` fits). */
  readonly actionGroup: IActionGroup;
  /**
   * Overrides of the missing pool alert (`alert-<namePrefix>-airflow-missing-pool`): the scheduler
   * logged "Tasks using non-existent pool", whose tasks never run.
   * @default - severity 1, every 5 minutes over 15 minutes, more than 0 lines
   */
  readonly missingPoolAlert?: AlertOptions;
  /**
   * The plan's monitoring, on `logAnalyticsWorkspace`: it makes the missing pool alert and the
   * Prometheus alert rules ({@link MigrationMonitoring.monitorKubernetesAirflow}) with its alert
   * defaults and action group, listed by its `createdAlerts()`, as the stack does.
   * @default - the host makes the alerts itself, through `actionGroup`, without alert defaults
   */
  readonly monitoring?: MigrationMonitoring;
  /**
   * Delegated subnet of the metadata database; required with `subnetId`.
   * @default - created with the VNet
   */
  readonly databaseSubnetId?: string;
  /** Subnet of the private endpoints. @default - `subnetId`, or a subnet of the created VNet */
  readonly privateEndpointSubnetId?: string;
  /** Address space of the created VNet. @default "10.60.0.0/16" */
  readonly addressSpace?: string;
  /**
   * An existing `privatelink.vaultcore.azure.net` zone (central DNS) for the Key Vault endpoint.
   * @default - a zone is created and linked to the VNet
   */
  readonly keyVaultPrivateDnsZoneId?: string;
  /** Kubernetes namespace of the release. @default "airflow" */
  readonly namespace?: string;
  /** Replicas of the scheduler, API server, triggerer and PgBouncer. @default 2 */
  readonly replicas?: number;
  /** Celery workers (CeleryExecutor only). @default 2 */
  readonly celeryWorkers?: number;
  /**
   * How Terraform signs in to the cluster (kubelogin): `azurecli` for a person, `workloadidentity`,
   * `spn` or `msi` in CI.
   * @default "azurecli"
   */
  readonly kubeloginMode?: KubeloginMode;
  /**
   * Principal that deploys (cluster admin, writes the database password to Key Vault).
   * @default - the identity running Terraform
   */
  readonly deployerPrincipalId?: string;
  /** Entra ID groups with cluster-admin rights. @default - none */
  readonly adminGroupObjectIds?: readonly string[];
  /**
   * People sign in to the Airflow UI with Entra ID: the FAB auth manager with an app registration
   * you create, its client secret in `keyVault` as `airflow-sign-in-client-credential`
   * (docs/airflow-sign-in.md), Airflow roles from Entra ID groups. A cutover's `approvers` are then
   * the approvers' Entra object ids.
   * @default - no sign-in: nobody can sign in to the Airflow UI (warns)
   */
  readonly signIn?: KubernetesSignIn;
  /** IP ranges allowed to reach the API server. @default - any (Entra ID still decides) */
  readonly authorizedIpRanges?: readonly string[];
  /**
   * Whether AKS run command (`az aks command invoke`) may run commands in the cluster on a
   * caller's behalf. Nothing here needs it: Terraform and kubectl reach the API server directly.
   * @default false (warns when true)
   */
  readonly runCommandEnabled?: boolean;
  /**
   * Whether the release's namespace gets least-privilege ingress policies: each part of the chart
   * admits only the Airflow connections it serves (and the statsd exporter managed Prometheus's
   * scraper), every other pod nothing; egress stays open. Off, any pod in the cluster reaches
   * PgBouncer, Redis, statsd and the API server. To admit more (an ingress controller in front of
   * the API server, say), add your own policy: Kubernetes network policies add up.
   * @default true (warns when false)
   */
  readonly networkPoliciesEnabled?: boolean;
  /** Kubernetes version: `major.minor` (AKS picks its latest patch) or `major.minor.patch`. @default - AKS's default */
  readonly kubernetesVersion?: string;
  /** Zone-redundant standby for the metadata database. @default false */
  readonly databaseHighAvailability?: boolean;
  /** `prevent_destroy` on the metadata database (the host's stateful resource). @default true (warns when false) */
  readonly preventDestroy?: boolean;
  /** A management lock on the metadata database. @default - no lock */
  readonly lock?: ResourceLock;
  /**
   * Bump to rotate the generated secrets (metadata database password, signing keys, Redis password)
   * in one apply. The Fernet key is kept: it encrypts the Airflow Variables in the metadata database,
   * which the DAG keeps its records in, and its value is stored nowhere to keep beside a new one.
   * @default 1
   */
  readonly secretRotation?: number;
}

/** Kubernetes namespace names are RFC 1123 labels (Kubernetes docs, "Namespaces" and "Object Names and IDs"). */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * An AKS cluster's Kubernetes version: major.minor.patch (1.30.5) or major.minor (1.30, the latest GA
 * patch), as the managed cluster API's `kubernetesVersion` takes them.
 */
const KUBERNETES_VERSION = /^\d+\.\d+(\.\d+)?$/;

/** Variables the workload-identity webhook sets from the service account; the host never passes them. */
const WEBHOOK_VARIABLES = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST'];
/** Present anywhere, this would defeat the point of workload identity (the secrets of a credential are refused by name). */
const CERTIFICATE_VARIABLE = 'AZURE_CLIENT_CERTIFICATE_PATH';
/** An Airflow connection given as an environment variable: `AIRFLOW_CONN_<ID>`, Airflow reads the id lower-cased. */
const AIRFLOW_CONNECTION_VARIABLE = /^AIRFLOW_CONN_(.+)$/i;

function airflowConnectionId(variable: string): string {
  return variable.replace(AIRFLOW_CONNECTION_VARIABLE, '$1').toLowerCase();
}

/** The Key Vault secret holding a connection (`AIRFLOW__SECRETS__BACKEND_KWARGS`: `airflow-connections-<id>`, `_` as `-`). */
function connectionSecretName(variable: string): string {
  return airflowConnectionSecretName(airflowConnectionId(variable));
}

/**
 * How long the first apply waits after granting the deployer its cluster-admin and Key Vault roles,
 * before the release stack uses them (AKS with Azure RBAC checks every request on its data plane).
 */
export const DEPLOYER_ROLE_PROPAGATION = '180s';

/**
 * Airflow on AKS, as a platform team would run it: the official Apache Airflow chart (pinned,
 * Airflow 3.x) on an Entra-ID-only cluster, a private PostgreSQL Flexible Server behind PgBouncer,
 * an image built in ACR with the DAG's requirements, the DAG and the plan as config maps, a
 * managed identity federated to the Airflow service accounts (no client secret anywhere), Key
 * Vault as the secrets backend over a private endpoint, the DAG's pools, and alerts on Airflow's
 * own signals through managed Prometheus.
 *
 * Two stacks: the host's own (network, cluster, registry and image, identity, monitoring) and
 * `releaseStack`, applied after it (database, secrets, DAG, chart, pools).
 */
export class KubernetesAirflowHost extends Construct implements IAirflowHost {
  /** Always `kubernetes`. */
  public readonly kind = 'kubernetes' as const;
  /** The pinned Apache Airflow version of the image and chart values. */
  public readonly airflowVersion = AIRFLOW_VERSION;
  /** Pods in the VNet reach SQL Server directly (given line of sight); Data Factory works too. */
  public readonly supportedSqlAccess: readonly SqlAccessKind[] = supportedSqlAccess('kubernetes');
  /** The managed identity the DAG's tasks act as (federated, no secret). */
  public readonly identity: AirflowIdentity;
  /** The AKS cluster Airflow runs on. */
  public readonly cluster: KubernetesCluster;
  /** Airflow's metadata database server (in the release stack). */
  public readonly databaseServer: PostgresqlFlexibleServer;
  /** The Helm release of the Apache Airflow chart (in the release stack). */
  public readonly helmRelease: Release;
  /** `<registry login server>/airflow-migration:<tag>`: the Airflow image with the DAG's requirements. */
  public readonly image: string;
  /** Namespace of the release. */
  public readonly namespace: string;
  /** The stack with the database, the secrets, the DAG and the chart (applied after this host's stack). */
  public readonly releaseStack: TerraformStack;
  /** Environment of every Airflow container (the given one without the webhook's variables). */
  public readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: KubernetesAirflowHostProps) {
    requireProps(scope, id, 'KubernetesAirflowHost', props, {
      ...AIRFLOW_HOST_REQUIRED_PROPS,
      // Written into the pools file the chart's job imports, and checked, at synth.
      pools: { each: { name: 'string', slots: 'numberReadAtSynth', description: 'string' } },
      releaseStack: 'construct',
      logAnalyticsWorkspace: LOG_ANALYTICS_WORKSPACE,
      actionGroup: ACTION_GROUP,
      missingPoolAlert: ALERT_OPTIONS,
      airflowTaskFailuresRule: PROMETHEUS_ALERT_OPTIONS,
      airflowDagImportErrorsRule: PROMETHEUS_ALERT_OPTIONS,
      airflowSchedulerHeartbeatMissingRule: PROMETHEUS_ALERT_OPTIONS,
      monitoring: { ifGiven: 'construct' },
      lock: LOCK,
      subnetId: IF_GIVEN.string,
      nodeVmSize: IF_GIVEN.string,
      minNodes: IF_GIVEN.numberReadAtSynth,
      maxNodes: IF_GIVEN.numberReadAtSynth,
      executor: { ifGiven: { oneOf: AIRFLOW_EXECUTORS } },
      databaseSubnetId: IF_GIVEN.string,
      privateEndpointSubnetId: IF_GIVEN.string,
      addressSpace: IF_GIVEN.string,
      keyVaultPrivateDnsZoneId: IF_GIVEN.string,
      namespace: IF_GIVEN.string,
      replicas: IF_GIVEN.number,
      celeryWorkers: IF_GIVEN.number,
      kubeloginMode: IF_GIVEN.string,
      deployerPrincipalId: IF_GIVEN.string,
      adminGroupObjectIds: PASSED_ON_STRINGS,
      signIn: {
        ifGiven: {
          clientId: 'string',
          tenantId: IF_GIVEN.string,
          roles: { Admin: { each: 'string', listToken: 'readAtSynth' }, Op: SYNTH_READ_STRINGS, User: SYNTH_READ_STRINGS, Viewer: SYNTH_READ_STRINGS },
        },
      },
      authorizedIpRanges: PASSED_ON_STRINGS,
      runCommandEnabled: IF_GIVEN.boolean,
      networkPoliciesEnabled: IF_GIVEN.boolean,
      kubernetesVersion: IF_GIVEN.string,
      databaseHighAvailability: IF_GIVEN.boolean,
      preventDestroy: IF_GIVEN.boolean,
      secretRotation: IF_GIVEN.number,
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    checkBundleForHost(this, props);
    checkRegion(this, 'location', props.location);
    checkGuid(this, 'deployerPrincipalId', props.deployerPrincipalId);
    checkGuids(this, 'adminGroupObjectIds', props.adminGroupObjectIds);
    checkSignIn(this, props.signIn);
    checkArmId(this, 'keyVaultPrivateDnsZoneId', props.keyVaultPrivateDnsZoneId, PRIVATE_DNS_ZONE_ID);
    for (const prop of ['subnetId', 'databaseSubnetId', 'privateEndpointSubnetId'] as const) checkArmId(this, prop, props[prop], SUBNET_ID);
    checkProp(this, 'nodeVmSize', props.nodeVmSize, (size) => VM_SIZE.pattern.test(size), VM_SIZE.rule);
    checkProp(
      this,
      'kubernetesVersion',
      props.kubernetesVersion,
      (version) => KUBERNETES_VERSION.test(version),
      'a Kubernetes version AKS takes: major.minor (1.30) or major.minor.patch (1.30.5)',
    );
    checkProp(
      this,
      'namespace',
      props.namespace,
      (name) => NAMESPACE_NAME.test(name),
      'a Kubernetes namespace name: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
    );
    // Not `checkProp`: a reference is refused too, since the mode decides kubelogin's arguments at synth.
    const kubeloginMode = props.kubeloginMode ?? 'azurecli';
    if (!KUBELOGIN_MODES.includes(kubeloginMode)) {
      throw new Error(`${this.node.path}: kubeloginMode must be one of ${KUBELOGIN_MODES.join(', ')} (got "${kubeloginMode}")`);
    }
    const { resourceGroup, location, tags, namePrefix } = props;
    const common = { resourceGroup, location, tags, namePrefix };
    const executor = props.executor ?? 'CeleryExecutor';
    this.namespace = props.namespace ?? 'airflow';
    this.environment = podEnvironment(this, props.environment);
    const client = new DataAzurermClientConfig(this, 'Client', {});
    const deployer = props.deployerPrincipalId ?? client.objectId;

    const network = new AirflowNetwork(this, 'Network', {
      ...common,
      subnetId: props.subnetId,
      databaseSubnetId: props.databaseSubnetId,
      privateEndpointSubnetId: props.privateEndpointSubnetId,
      addressSpace: props.addressSpace,
    });
    const cluster = new AirflowCluster(this, 'Cluster', {
      ...common,
      tenantId: client.tenantId,
      nodeSubnetId: network.nodeSubnetId,
      nodeSubnetResourceGroupId: network.nodeSubnetResourceGroupId,
      nodeVmSize: props.nodeVmSize ?? 'Standard_D4ds_v5',
      minNodes: props.minNodes ?? 1,
      maxNodes: props.maxNodes ?? 4,
      logAnalyticsWorkspace: props.logAnalyticsWorkspace,
      deployerPrincipalId: deployer,
      adminGroupObjectIds: props.adminGroupObjectIds,
      authorizedIpRanges: props.authorizedIpRanges,
      kubernetesVersion: props.kubernetesVersion,
      runCommandEnabled: secureDefault(this, 'runCommandEnabled', props.runCommandEnabled, false),
    });
    this.cluster = cluster.cluster;
    new PrivateEndpoints(this, 'PrivateEndpoints', {
      ...common,
      subnetId: network.privateEndpointSubnetId,
      virtualNetworkId: network.virtualNetworkId,
      targets: [
        {
          slug: 'kv',
          resourceId: props.keyVault.id,
          subresource: 'vault',
          dnsZoneName: KEY_VAULT_PRIVATE_DNS_ZONE,
          existingDnsZoneId: props.keyVaultPrivateDnsZoneId,
        },
      ],
    });

    const image = new AirflowImageBuild(this, 'Image', {
      ...common,
      requirements: props.bundle.requirements,
      pullerObjectId: cluster.kubeletObjectId,
    });
    this.image = `${image.imageRepository}:${image.imageTag}`;

    const workloadIdentity = new AirflowWorkloadIdentity(this, 'Identity', {
      ...common,
      oidcIssuerUrl: cluster.oidcIssuerUrl,
      namespace: this.namespace,
      serviceAccountNames: TASK_SERVICE_ACCOUNTS,
    });
    this.identity = workloadIdentity.identity;
    const secretsReader = new AirflowWorkloadIdentity(this, 'SecretsReaderIdentity', {
      ...common,
      oidcIssuerUrl: cluster.oidcIssuerUrl,
      namespace: this.namespace,
      serviceAccountNames: SECRETS_READER_SERVICE_ACCOUNTS,
      nameSuffix: 'airflow-secrets',
    }).identity;
    grantReadSecrets(this, props.keyVault, secretsReader, {
      id: 'SecretsReaderReadsSecrets',
      description: "Airflow's secrets backend in the scheduler, triggerer and API server: the migration's connections",
    });

    new AirflowMonitoring(this, 'Monitoring', {
      ...common,
      cluster: this.cluster,
      registry: { id: image.registry.id, name: image.registryName },
      logAnalyticsWorkspace: props.logAnalyticsWorkspace,
      actionGroupId: props.actionGroup.id,
      namespace: this.namespace,
      // The plan's monitoring makes the alerts when given, with its alert defaults, as every other alert of the stack.
      missingPoolAlert: props.monitoring === undefined ? props.missingPoolAlert ?? {} : undefined,
      prometheusAlerts: (makePrometheusRuleGroup) => {
        const rules: AirflowPrometheusAlertOptions = {
          airflowTaskFailuresRule: props.airflowTaskFailuresRule,
          airflowDagImportErrorsRule: props.airflowDagImportErrorsRule,
          airflowSchedulerHeartbeatMissingRule: props.airflowSchedulerHeartbeatMissingRule,
        };
        if (props.monitoring === undefined) {
          return namingFacade(this, () => createAirflowPrometheusAlerts(props.actionGroup.id, rules, {}, makePrometheusRuleGroup));
        }
        const scheduler = { clusterId: this.cluster.id, namespace: this.namespace, makePrometheusRuleGroup };
        return props.monitoring.monitorKubernetesAirflow(scheduler, { missingPoolAlert: props.missingPoolAlert, ...rules }).prometheusAlerts;
      },
    });

    // The release stack writes the database password to Key Vault and talks to the cluster as the
    // deployer: both roles must have reached their data planes before it is applied.
    // On the vault, not the one secret: a role on a secret needs the secret, which this role creates.
    const deployerWritesSecrets = new RoleAssignment(this, 'DeployerWritesSecrets', {
      scope: props.keyVault.id,
      roleDefinitionName: 'Key Vault Secrets Officer',
      principalId: deployer,
      description: 'Terraform writes the Airflow metadata database password (Kubernetes host)',
    });
    waitForRoles(this, 'DeployerRolePropagation', DEPLOYER_ROLE_PROPAGATION, {
      cluster_admin: cluster.deployerAccess,
      key_vault_secrets_officer: deployerWritesSecrets,
    });

    this.releaseStack = props.releaseStack;
    if (props.releaseStack === TerraformStack.of(this)) {
      throw new Error(
        `${this.node.path}: releaseStack is the host's own stack; give another stack, applied after this one ` +
          '(the kubernetes and helm providers cannot be configured from a cluster the same apply creates)',
      );
    }
    // The release stack needs azurerm for the cluster lookup and the metadata database.
    ensureProvider(props.releaseStack, AzurermProvider, (stack) => new AzurermProvider(stack, 'azurerm', { features: [{}] }));
    const inCluster = new Construct(props.releaseStack, id);
    const clusterLookup = new DataAzurermKubernetesCluster(inCluster, 'Cluster', {
      name: this.cluster.name,
      resourceGroupName: resourceGroup.name,
    });
    const kube = kubeProviders(inCluster, clusterLookup, `${namePrefix}-airflow`, kubeloginMode);

    const secrets = new GeneratedSecrets(inCluster, 'Secrets', {
      namespace: this.namespace,
      cluster: this.cluster.id,
      databaseSubnet: network.databaseSubnetId,
      keyVault: props.keyVault.id,
      rotation: String(props.secretRotation ?? 1),
      databaseSecretLayout: DATABASE_SECRET_LAYOUT,
    });
    const password = secrets.value('DatabasePassword', 'password');
    const database = new MetadataDatabase(inCluster, 'Database', {
      ...common,
      delegatedSubnetId: network.databaseSubnetId,
      virtualNetworkId: network.virtualNetworkId,
      password,
      passwordVersion: secrets.version,
      keyVault: props.keyVault,
      logAnalyticsWorkspace: props.logAnalyticsWorkspace,
      highAvailability: props.databaseHighAvailability,
      preventDestroy: props.preventDestroy,
      lock: props.lock,
    });
    this.databaseServer = database.server;

    const poolsImport = new AirflowPoolsImport(inCluster, 'Pools', { pools: props.pools, namespace: this.namespace, provider: kube.kubernetes });
    const release = new AirflowRelease(inCluster, 'Release', {
      kubernetesProvider: kube.kubernetes,
      helmProvider: kube.helm,
      namespace: this.namespace,
      executor,
      imageRepository: image.imageRepository,
      imageTag: image.imageTag,
      identityClientId: this.identity.clientId,
      secretsReaderClientId: secretsReader.clientId,
      bundle: props.bundle,
      environment: this.environment,
      database: {
        host: database.host,
        name: database.databaseName,
        login: database.administratorLogin,
        password,
      },
      secrets,
      replicas: props.replicas ?? 2,
      celeryWorkers: props.celeryWorkers ?? 2,
      poolsImport,
      dependsOn: [database.database],
      networkPoliciesEnabled: secureDefault(this, 'networkPoliciesEnabled', props.networkPoliciesEnabled, true),
      signIn:
        props.signIn === undefined
          ? undefined
          : {
              clientId: props.signIn.clientId,
              tenantId: props.signIn.tenantId ?? client.tenantId,
              roles: props.signIn.roles,
              keyVaultUrl: props.keyVault.vaultUri,
              revision: signInRevision(props.signIn),
            },
    });
    this.helmRelease = release.release;

    statsdScrapeJob(inCluster, kube.kubernetes, this.namespace);

    namedOutput(this, 'cluster-name', { value: this.cluster.name, description: 'AKS cluster running Airflow' });
    namedOutput(this, 'namespace', { value: this.namespace, description: 'Kubernetes namespace of the Airflow release' });
    namedOutput(this, 'identity-client-id', {
      value: this.identity.clientId,
      description: 'Client id of the managed identity the DAG acts as (federated to the Airflow service accounts)',
    });
    namedOutput(this, 'image', { value: this.image, description: 'Airflow image with the DAG requirements' });
  }

  /**
   * Nothing to add: the DAG's config maps are in `releaseStack`, applied after the host's own stack,
   * where the stack creates what the DAG depends on.
   */
  public deployDagAfter(..._dependables: ITerraformDependable[]): void {}
}

/**
 * The sign-in's ids are GUIDs, with a group for Admin at least; without sign-in, a warning: nobody can
 * sign in to the Airflow UI, so no one can answer an approval through hitl either.
 */
function checkSignIn(scope: Construct, signIn: KubernetesSignIn | undefined): void {
  if (signIn === undefined) {
    warn(scope, 'migration:kubernetes:no-sign-in',
      'no signIn: the Airflow UI gets no auth manager and the chart creates no user, so nobody can sign in to it, ' +
        'and a cutover approval through hitl cannot be answered; give airflow.kubernetes.signIn (an Entra ID app registration, docs/airflow-sign-in.md), ' +
        'or acknowledge where your platform configures the sign-in itself');
    return;
  }
  checkGuid(scope, 'signIn.clientId', signIn.clientId);
  checkGuid(scope, 'signIn.tenantId', signIn.tenantId);
  for (const role of SIGN_IN_ROLES) checkGuids(scope, `signIn.roles.${role}`, signIn.roles[role]);
  const unknown = Object.keys(signIn.roles).filter((role) => !(SIGN_IN_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) {
    throw new Error(`${scope.node.path}: signIn.roles has ${unknown.join(', ')}, not an Airflow role: ${SIGN_IN_ROLES.join(', ')}`);
  }
  if (signIn.roles.Admin.length === 0) {
    throw new Error(`${scope.node.path}: signIn.roles.Admin lists no group: name at least one Entra ID group whose members administer Airflow`);
  }
}

/** The given environment for the pods, without what the webhook sets; credentials are refused. */
function podEnvironment(scope: Construct, environment: Readonly<Record<string, string>>): Record<string, string> {
  const forbidden = [...(CERTIFICATE_VARIABLE in environment ? [CERTIFICATE_VARIABLE] : []), ...secretVariables(environment)];
  if (forbidden.length > 0) {
    throw new Error(
      `${scope.node.path}: environment holds ${forbidden.join(', ')}: the Kubernetes host authenticates with workload identity ` +
        'and never passes a credential (the environment is written into the Helm values, in the clear in the synthesized JSON and the state); remove it' +
        forbidden
          .filter((name) => AIRFLOW_CONNECTION_VARIABLE.test(name))
          .map((name) => `; put connection ${airflowConnectionId(name)} into Key Vault instead, as the secret ${connectionSecretName(name)}, which Airflow's secrets backend reads`)
          .join(''),
    );
  }
  // The chart runs a triggerer, so the DAG's waits defer to it.
  return { ...Object.fromEntries(Object.entries(environment).filter(([name]) => !WEBHOOK_VARIABLES.includes(name))), ...DEFERRABLE_WAITS };
}
