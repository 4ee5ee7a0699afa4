import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AzapiProvider } from './azapi/provider';
import { ResourceLock } from './core/protection';
import { ILogAnalyticsWorkspace } from './core/references';
import { IAirflowHost } from './hosts/airflow-host';
import { dagEnvironment } from './hosts/dag-environment';
import type { DagStorageSettings } from './hosts/host-dag-storage';
import { KUBELOGIN_MODES, type KubeloginMode } from './hosts/kubernetes/kubernetes-host';
import { MigrationOperatorRole } from './migration-operator-role';
import { MigrationService } from './migration-service';
import type { KubernetesAirflowHost } from './hosts/kubernetes/kubernetes-host';
import { MIGRATION_EVENTS_TABLES, type MigrationEventsTable } from './monitoring/migration-event-ingestion';
import { MigrationMonitoring, MigrationMonitoringOptions, refuseAlertOptionsOfOtherHosts, refuseAlertOptionsWithoutTheirResource } from './monitoring/migration-monitoring';
import { grantReadSecrets } from './orchestration-factory/credential-vault';
import { OrchestrationFactory, OrchestrationFactoryProps } from './orchestration-factory/orchestration-factory';
import type { SqlPipelines } from './orchestration-factory/sql-pipelines';
import { cutoverWindowsInThePast, gatesCutovers } from './plan/cutover-schema';
import { formatFieldPath, showName } from './plan/field-path';
import { isValidatedPlan, parseMigrationPlan, planSource } from './plan/parse';
import { MigrationPlan } from './plan/types';
import { warnUnknownRegion } from './private/azure-regions';
import { createAirflowHost } from './private/create-airflow-host';
import { resourceName } from './private/naming';
import { onlyListed } from './private/required-fields';
import { ALERT_DEFAULTS, ALERT_OPTIONS, PROMETHEUS_ALERT_OPTIONS, CUSTOM_ALERTS, MIGRATION_STALLED_ALERT, SOURCE_FROZEN_TOO_LONG_ALERT, KEY_VAULT, LOCK, LOG_ANALYTICS_WORKSPACE, checkGuid, checkResourceGroupName, checkStateBackend, requireProps, IF_GIVEN, DAG_STORAGE_SETTINGS } from './private/prop-checks';
import { RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES } from './private/retired-addresses';
import { applyStateBackend, RELEASE_STACK_SUFFIX, releaseStateBackend } from './private/state-backend';
import { ReleaseStack } from './release-stack';
import { StateBackend, TerraformCloudStateBackend } from './state-backend';
import { requireTerraformVersion } from './private/terraform-version';
import { refuseHclOutput } from './private/json-output';
import { acknowledgeIn, acknowledgementProblems, coverAlso, warn } from './core/warnings';

/** Props of {@link DatabaseMigrationStack}. */
export interface DatabaseMigrationStackProps {
  /** The validated plan (`loadMigrationPlan` / `parseMigrationPlan`); its `airflow.host` picks where the DAG runs. */
  readonly plan: MigrationPlan;
  /**
   * Subscription to deploy into.
   * @default - `ARM_SUBSCRIPTION_ID` where Terraform runs: azurerm 4.x takes no subscription from the Azure CLI
   */
  readonly subscriptionId?: string;
  /**
   * Name of the resource group the stack creates for everything else.
   * @default `rg-<plan name>`
   */
  readonly resourceGroupName?: string;
  /**
   * A Log Analytics workspace the team already has; nothing is created in its place. Give its
   * `location` when it is in another region than the plan (a `LogAnalyticsWorkspace` or a Data lookup
   * has one): the migration events' endpoint and rule, the log alerts and the Kubernetes host's
   * Container Insights rule go there, as Azure requires.
   * @default - creates `log-<plan name>`
   */
  readonly workspace?: ILogAnalyticsWorkspace;
  /**
   * Who creates `MigrationEvents_CL` in the workspace: `create` for the first plan in it, `existing`
   * for every later plan sharing the given `workspace` (its rule routes to that table; apply the
   * owner's stack first; its `prevent_destroy` stops a destroy of the owner, which would delete every plan's events).
   * @default 'create'
   */
  readonly eventsTable?: MigrationEventsTable;
  /**
   * `prevent_destroy` on every stateful resource the stack creates: the migration service, the Key
   * Vault, the Log Analytics workspace, the events table `MigrationEvents_CL` (in a given `workspace`
   * too, with `eventsTable: 'create'`) and the Kubernetes host's metadata database (the DAG storage only holds files the
   * stack uploads again: `dagStorage.preventDestroy`). Turn off only for a throwaway environment.
   * @default true (warns for each resource left without it)
   */
  readonly preventDestroy?: boolean;
  /**
   * A management lock on every stateful resource the stack creates: the migration service (always
   * `CanNotDelete`: `ReadOnly` would refuse the `listAuthKeys` POST of every plan), the Key Vault, the
   * workspace, the Kubernetes host's metadata database and the DAG storage account (`dagStorage.lock`
   * wins for that one).
   * @default - no lock
   */
  readonly lock?: ResourceLock;
  /**
   * Where Terraform keeps the state: local, Terraform Cloud (`cloud` block with a named
   * workspace) or an Azure blob. `stateBackendFromEnvironment()` reads it from TFC_* variables.
   * The Kubernetes host's release stack keeps its state beside it (`<workspace>-airflow`, ...).
   * @default { type: 'local' }: `terraform.<stack name>.tfstate` in the folder the app runs in
   */
  readonly stateBackend?: StateBackend;
  /**
   * Alert defaults, per-alert overrides (severity, threshold, timing, runbook) and alerts of one's own.
   * The "migration run stalled" alert is on for every host (`migrationStalledAlert` tunes it); the
   * Airflow alerts' overrides apply to the hosts that have them (task failures and DAG import errors:
   * an adopted Data Factory environment; missing pool: it and the Kubernetes host; the `...Rule`
   * options: the Kubernetes host's Prometheus rules), the Key Vault alerts' to the vault the stack
   * creates, and the backup storage alert's to a plan whose SqlMi or SqlVm targets stage backups.
   * @default - the built-in alerts with their defaults
   */
  readonly monitoring?: MigrationMonitoringOptions;
  /**
   * The Data Factory's public network access, and the Key Vault: your own (`keyVault`; its monitoring
   * is then yours), or the name an earlier version gave the one the stack creates (`keyVaultName`).
   * @default - public network access on; creates the Key Vault `kv-<plan name>-<hash>`
   */
  readonly orchestration?: Pick<OrchestrationFactoryProps, 'publicNetworkEnabled' | 'keyVault' | 'keyVaultName'>;
  /**
   * Settings of the DAG storage account, created for the hosts that read the DAG from storage
   * (dataFactory, external); the other hosts ignore them.
   * @default - GRS, HTTPS only, TLS 1.2, no public blobs, no shared keys, versioning, 30 days of soft delete; the stack's `lock`
   */
  readonly dagStorage?: DagStorageSettings;
  /**
   * Principal that deploys: uploads DAG blobs, administers the Kubernetes host's cluster.
   * @default - the identity running Terraform (`azurerm_client_config.object_id`)
   */
  readonly deployerPrincipalId?: string;
  /** How Terraform signs in to the Kubernetes host's cluster (kubelogin). @default "azurecli" */
  readonly kubeloginMode?: KubeloginMode;
  /**
   * Warnings meant on purpose, by id (`[ack: <id>]` after each warning; docs/warnings.md lists them),
   * each with the reason: in this stack and its release stacks each becomes an info naming its id
   * and the reason. An id nothing warned with is a warning of its own (`acknowledgeWarnings` does the
   * same for a construct of one's own).
   * @default - none: every warning is shown as one
   */
  readonly acknowledgeWarnings?: Readonly<Record<string, string>>;
}

/**
 * Everything one migration plan needs in Azure: the migration service, the orchestration factory
 * (self-hosted runtime, Key Vault, linked services, and the SQL pipelines with `sqlAccess:
 * dataFactory`), monitoring on signals that exist, the Airflow host the plan picks, and the roles
 * its identity needs to run the migrations and nothing else. The Kubernetes host adds a second
 * stack, `<plan name>-airflow`, applied after this one ({@link releaseStacks}).
 */
export class DatabaseMigrationStack extends TerraformStack {
  /** The plan the stack was built from. */
  public readonly plan: MigrationPlan;
  /** The resource group that holds everything the stack creates. */
  public readonly resourceGroup: ResourceGroup;
  /** The Azure Database Migration Service (DMS) that runs the migrations. */
  public readonly migrationService: MigrationService;
  /** Log Analytics, the migration events table, alerts and their action group. */
  public readonly monitoring: MigrationMonitoring;
  /** The Data Factory with its self-hosted integration runtime, Key Vault and linked services. */
  public readonly orchestration: OrchestrationFactory;
  /** Where the DAG runs. */
  public readonly airflowHost: IAirflowHost;
  /** The SQL pipelines; undefined with `sqlAccess: direct`. */
  public readonly sqlPipelines?: SqlPipelines;
  /** The custom role the Airflow identity runs migrations with. */
  public readonly operatorRole: MigrationOperatorRole;
  /** Stacks to apply after this one, in order (the Kubernetes host's release stack); empty for other hosts. */
  public readonly releaseStacks: readonly TerraformStack[];

  constructor(scope: Construct, id: string, props: DatabaseMigrationStackProps) {
    requireProps(scope, id, 'DatabaseMigrationStack', props, {
        plan: 'object',
        subscriptionId: IF_GIVEN.string,
        resourceGroupName: IF_GIVEN.string,
        workspace: { ifGiven: LOG_ANALYTICS_WORKSPACE },
        // Any other value would create the table, in a workspace another plan's stack already owns it in.
        eventsTable: { ifGiven: { oneOf: MIGRATION_EVENTS_TABLES } },
        preventDestroy: IF_GIVEN.boolean,
        lock: LOCK,
        monitoring: {
          ifGiven: onlyListed({
            alertDefaults: ALERT_DEFAULTS,
            migrationFailedAlert: ALERT_OPTIONS,
            rollbackFailedAlert: ALERT_OPTIONS,
            migrationRunningLongAlert: ALERT_OPTIONS,
            cutoverAwaitingApprovalAlert: ALERT_OPTIONS,
            cutoverPostponedAlert: ALERT_OPTIONS,
            eventIngestionErrorsAlert: ALERT_OPTIONS,
            selfHostedRuntimeOfflineAlert: ALERT_OPTIONS,
            selfHostedRuntimeCpuAlert: ALERT_OPTIONS,
            selfHostedRuntimeMemoryAlert: ALERT_OPTIONS,
            keyVaultAvailabilityAlert: ALERT_OPTIONS,
            keyVaultSaturationAlert: ALERT_OPTIONS,
            backupStorageAvailabilityAlert: ALERT_OPTIONS,
            aksNodeCpuAlert: ALERT_OPTIONS,
            aksNodeMemoryAlert: ALERT_OPTIONS,
            airflowTaskFailuresAlert: ALERT_OPTIONS,
            airflowDagImportErrorsAlert: ALERT_OPTIONS,
            missingPoolAlert: ALERT_OPTIONS,
            airflowTaskFailuresRule: PROMETHEUS_ALERT_OPTIONS,
            airflowDagImportErrorsRule: PROMETHEUS_ALERT_OPTIONS,
            airflowSchedulerHeartbeatMissingRule: PROMETHEUS_ALERT_OPTIONS,
            migrationStalledAlert: MIGRATION_STALLED_ALERT,
            sourceFrozenTooLongAlert: SOURCE_FROZEN_TOO_LONG_ALERT,
            customAlerts: CUSTOM_ALERTS,
          }),
        },
        orchestration: { ifGiven: { keyVault: { ifGiven: KEY_VAULT }, keyVaultName: IF_GIVEN.string, publicNetworkEnabled: IF_GIVEN.boolean } },
        dagStorage: DAG_STORAGE_SETTINGS,
        deployerPrincipalId: IF_GIVEN.string,
        kubeloginMode: { ifGiven: { oneOf: KUBELOGIN_MODES } },
        acknowledgeWarnings: { ifGiven: { checkedBy: (value, path, problems) => problems.wrongKind.push(...acknowledgementProblems(value, path)) } },
      }, "new DatabaseMigrationStack(app, 'contoso-sql', { plan: loadMigrationPlan('plan.yaml') })");
    super(scope, id);
    // First, so that every warning below, the release stacks' included, is seen acknowledged.
    const acknowledgements = acknowledgeIn([this], props.acknowledgeWarnings ?? {});
    refuseHclOutput(this);
    requireTerraformVersion(this);
    checkGuid(this, 'subscriptionId', props.subscriptionId);
    checkGuid(this, 'deployerPrincipalId', props.deployerPrincipalId);
    checkResourceGroupName(this, 'resourceGroupName', props.resourceGroupName);
    checkStateBackend(this, props.stateBackend);
    // A plan built or changed by hand is checked here, so a mistake in it is named by its field
    // path, not by whichever construct would trip over it first.
    const plan = isValidatedPlan(props.plan) ? props.plan : parseMigrationPlan(props.plan, 'props.plan');
    this.plan = plan;
    // Before the constructs that take it: the warning names the plan field, not the first of them.
    warnUnknownRegion(this, `${planSource(plan)} location:`, plan.location);
    const preventDestroy = props.preventDestroy ?? true;
    const lock = props.lock;
    const stateBackend = props.stateBackend ?? { type: 'local' };
    const alerts = props.monitoring ?? {};
    refuseAlertOptionsOfOtherHosts(this, plan.airflow.host, alerts);
    refuseAlertOptionsWithoutTheirResource(
      this,
      {
        createdKeyVault: props.orchestration?.keyVault === undefined,
        backupStorage: plan.targetServers.some((target) => target.kind !== 'SqlDb') && plan.backupStorage !== undefined,
      },
      alerts,
    );

    new AzurermProvider(this, 'azurerm', {
      features: [{}],
      subscriptionId: props.subscriptionId,
      // The DAG storage account has shared keys off: blobs are uploaded with Entra ID.
      storageUseAzuread: true,
    });
    new AzapiProvider(this, 'azapi', { subscriptionId: props.subscriptionId });
    applyStateBackend(this, stateBackend);
    // One block as an object: Terraform's JSON syntax takes an object or a list for an unlabelled
    // block, and checkov's JSON parser only the object.
    const [retired] = RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES;
    this.addOverride('removed', { from: retired, lifecycle: { destroy: false } });
    const client = new DataAzurermClientConfig(this, 'Client', {});
    // A warning, not an error: a plan whose migrations finished may be deployed again.
    const now = new Date();
    for (const { database, windows } of cutoverWindowsInThePast(plan, now)) {
      const at = formatFieldPath(['databases', plan.databases.findIndex(({ name }) => name === database)]);
      const listed = windows.map(({ from, to, timeZone }) => `${from} to ${to} (${timeZone})`).join('; ');
      warn(this, 'migration:plan:cutover-windows-past',
        `${planSource(plan)} ${showName(database)} (${at}): every cutover window is in the past at ${now.toISOString()}: ${listed}. ` +
          `The DAG's preflight fails for it unless it is already live or its source frozen: add a window to cut it over`,
      );
    }
    // The plan's own choice, so a warning: the writes it lets through are not migrated.
    plan.databases.forEach((database, index) => {
      if (database.allowSourceWritesDuringCopy) {
        warn(this, 'migration:plan:source-writes-during-copy',
          `${planSource(plan)} ${showName(database.name)} (${formatFieldPath(['databases', index, 'allowSourceWritesDuringCopy'])}): ` +
            'the source stays writable while DMS copies it, and what is written there meanwhile is not migrated: validate fails ' +
            'on the rows it counts or compares, an update it does not compare is lost. Leave it out (false) to freeze the source for the copy',
        );
      }
    });

    this.resourceGroup = new ResourceGroup(this, 'ResourceGroup', {
      name: props.resourceGroupName ?? resourceName('rg', plan.name),
      location: plan.location,
      tags: plan.tags,
    });

    this.migrationService = new MigrationService(this, 'MigrationService', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      tags: plan.tags,
      preventDestroy,
      // The strongest lock the service can take: ReadOnly would refuse listAuthKeys (a POST).
      lock: props.lock && { ...props.lock, kind: 'CanNotDelete' },
    });

    this.monitoring = new MigrationMonitoring(this, 'Monitoring', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      tags: plan.tags,
      workspace: props.workspace,
      // Its ingestion endpoint and rule must be in the workspace's region.
      location: props.workspace?.location ?? plan.location,
      emails: plan.notifications.emails,
      // The stack's own resource group holds one plan: the name it has always deployed.
      actionGroupName: 'migration-alerts',
      // The events table it creates, and the workspace it creates; a lock only on the latter: a workspace the stack
      // was given is not the stack's to lock.
      preventDestroy,
      ...(props.workspace === undefined && { lock }),
      alertDefaults: alerts.alertDefaults,
    });
    this.monitoring.monitorMigrationEvents({
      eventsTable: props.eventsTable,
      longRunningMinutes: plan.notifications.longRunningMinutes,
      migrationFailedAlert: alerts.migrationFailedAlert,
      rollbackFailedAlert: alerts.rollbackFailedAlert,
      migrationRunningLongAlert: alerts.migrationRunningLongAlert,
      migrationStalledAlert: alerts.migrationStalledAlert,
      databases: plan.databases,
      sourceFrozenTooLongAlert: alerts.sourceFrozenTooLongAlert,
      cutoverAwaitingApprovalAlert: alerts.cutoverAwaitingApprovalAlert,
      cutoverPostponedAlert: alerts.cutoverPostponedAlert,
      eventIngestionErrorsAlert: alerts.eventIngestionErrorsAlert,
      cutoverAlerts:
        gatesCutovers(plan) || alerts.cutoverAwaitingApprovalAlert !== undefined || alerts.cutoverPostponedAlert !== undefined,
    });

    this.orchestration = new OrchestrationFactory(this, 'Orchestration', {
      ...props.orchestration,
      resourceGroup: this.resourceGroup,
      plan,
      preventDestroy,
      lock,
    });

    const sqlThroughFactory = plan.airflow.sqlAccess === 'dataFactory';
    const releaseStacks: TerraformStack[] = [];
    this.airflowHost = createAirflowHost(this, 'AirflowHost', plan, {
      resourceGroup: this.resourceGroup,
      environment: dagEnvironment({
        planName: plan.name,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        migrationService: this.migrationService,
        eventIngestion: this.monitoring.eventIngestion,
        keyVault: this.orchestration.keyVault,
        dataFactory: sqlThroughFactory ? this.orchestration : undefined,
      }),
      keyVault: this.orchestration.keyVault,
      // Its region as the monitoring has it: literal, unless a given workspace's is a reference.
      logAnalyticsWorkspace: { id: this.monitoring.workspaceId, name: this.monitoring.workspace.name, location: this.monitoring.location },
      actionGroup: this.monitoring.actionGroup,
      monitoring: this.monitoring,
      airflowAlerts: {
        taskFailures: alerts.airflowTaskFailuresAlert,
        dagImportErrors: alerts.airflowDagImportErrorsAlert,
        missingPool: alerts.missingPoolAlert,
      },
      prometheusRules: {
        airflowTaskFailuresRule: alerts.airflowTaskFailuresRule,
        airflowDagImportErrorsRule: alerts.airflowDagImportErrorsRule,
        airflowSchedulerHeartbeatMissingRule: alerts.airflowSchedulerHeartbeatMissingRule,
      },
      dagStorage: { ...props.dagStorage, lock: props.dagStorage?.lock ?? lock },
      preventDestroy,
      lock,
      kubeloginMode: props.kubeloginMode,
      // The stack's own lookup: hosts look the deployer up themselves only when used alone.
      deployerPrincipalId: props.deployerPrincipalId ?? client.objectId,
      newReleaseStack: () => {
        const release = new ReleaseStack(scope, `${id}${RELEASE_STACK_SUFFIX}`, { after: this, stateBackend, subscriptionId: props.subscriptionId });
        releaseStacks.push(release);
        acknowledgements.forEach((acknowledgement) => coverAlso(acknowledgement, release));
        return release;
      },
    });
    this.releaseStacks = releaseStacks;
    const host = this.airflowHost;
    if (host.kind === 'fabric' && stateBackend.type === 'terraformCloud') {
      // Terraform Cloud's remote runners have Terraform only (HashiCorp support: install extra tools in an agent image).
      warn(this, 'migration:tfc:fabric-local-exec',
        `the Fabric host uploads the DAG in a local-exec step that runs Node.js 20 (and the Azure CLI when no FABRIC_*/ARM_* ` +
          `credentials are set): give Terraform Cloud workspace ${stateBackend.workspace} execution mode Local or an agent whose image has them`,
      );
    }
    if (host.kind === 'kubernetes' && stateBackend.type === 'terraformCloud') {
      // The kubernetes and helm providers get the cluster's token from kubelogin, an exec plugin: a binary, as Node.js above.
      const login = props.kubeloginMode ?? 'azurecli';
      const releaseWorkspace = (releaseStateBackend(stateBackend) as TerraformCloudStateBackend).workspace;
      warn(this, 'migration:tfc:kubelogin',
        `the Kubernetes host's second stack signs in to the cluster through kubelogin (login mode ${login}` +
          `${login === 'azurecli' ? ', which needs the Azure CLI logged in' : ''}), which Terraform Cloud's remote runners do not have: ` +
          `give Terraform Cloud workspace ${releaseWorkspace} execution mode Local or an agent whose image has it (docs/terraform-cloud.md)`,
      );
    }
    const airflow = host.identity;

    if (sqlThroughFactory) {
      // Loaded only here: its Data Factory pipeline and dataset classes serve no other plan.
      const { SqlPipelines } = require('./orchestration-factory/sql-pipelines') as typeof import('./orchestration-factory/sql-pipelines');
      this.sqlPipelines = new SqlPipelines(this, 'SqlPipelines', {
        resourceGroup: this.resourceGroup,
        factory: this.orchestration,
        location: plan.location,
        selfHostedRuntimeName: this.orchestration.selfHostedRuntime.name,
        keyVaultLinkedServiceName: this.orchestration.keyVaultLinkedServiceName,
        targets: plan.targetServers,
        namePrefix: plan.name,
        maxRunsPerPipeline: plan.concurrency.maxSqlStepsPerRuntime,
      });
      this.sqlPipelines.grantRunPipelines(airflow);
      // The DAG starts runs with the parameters of this version's pipelines: they change first.
      host.deployDagAfter?.(...Object.values(this.sqlPipelines.pipelines));
    }

    // DMS stages SqlMi and SqlVm backups there; SqlDb migrations copy directly.
    const backupStorageAccountId = plan.targetServers.some((target) => target.kind !== 'SqlDb') ? plan.backupStorage?.storageAccountResourceId : undefined;
    this.operatorRole = new MigrationOperatorRole(this, 'OperatorRole', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      migrationService: this.migrationService,
      targets: plan.targetServers.map((target) => ({ kind: target.kind, resourceId: target.resourceId })),
      backupStorageAccountId,
      onlineMigrations: plan.databases.some((database) => database.mode === 'online'),
    });
    this.operatorRole.grantRunMigrations(airflow, { id: 'Airflow' });
    grantReadSecrets(this, this.orchestration.keyVault, airflow, {
      id: 'AirflowReadsSecrets',
      description: `Airflow's secrets backend: the migration's connections (${host.kind} host)`,
    });
    this.monitoring.grantPublishEvents(airflow, { id: 'AirflowPublishesEvents' });

    this.monitoring.monitorDataFactory(this.orchestration, {
      selfHostedIntegrationRuntimeName: this.orchestration.selfHostedRuntime.name,
      selfHostedRuntimeOfflineAlert: alerts.selfHostedRuntimeOfflineAlert,
      selfHostedRuntimeCpuAlert: alerts.selfHostedRuntimeCpuAlert,
      selfHostedRuntimeMemoryAlert: alerts.selfHostedRuntimeMemoryAlert,
      dagStorageAccountId: host.dagStorageAccountId,
    });
    if (props.orchestration?.keyVault === undefined) {
      this.monitoring.monitorKeyVault(this.orchestration.keyVault, {
        keyVaultAvailabilityAlert: alerts.keyVaultAvailabilityAlert,
        keyVaultSaturationAlert: alerts.keyVaultSaturationAlert,
      });
    }
    if (host.kind === 'kubernetes') {
      // A type-only import: the Kubernetes host's module loads only for a Kubernetes plan (createAirflowHost).
      const { cluster } = host as KubernetesAirflowHost;
      this.monitoring.monitorKubernetesCluster(cluster.id, { aksNodeCpuAlert: alerts.aksNodeCpuAlert, aksNodeMemoryAlert: alerts.aksNodeMemoryAlert });
    }
    if (backupStorageAccountId !== undefined) {
      this.monitoring.monitorBackupStorage(backupStorageAccountId, { backupStorageAvailabilityAlert: alerts.backupStorageAvailabilityAlert });
    }
    this.monitoring.monitorCustom(alerts.customAlerts ?? {});
  }
}
