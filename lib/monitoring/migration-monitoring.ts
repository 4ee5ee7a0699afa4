import { Construct } from 'constructs';
import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { GrantOptions, IGrantee } from '../core/grants';
import { IActionGroup, IDataFactory, IKeyVault, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { validateNamePrefix } from '../private/naming';
import { ActionGroupOptions, migrationActionGroup } from './action-group';
import { AlertDefaults, AlertOptions, CreatedAlert, CreatedLogAlert, CreatedMetricAlert } from './alerts';
import { AIRFLOW_PROMETHEUS_ALERT_OPTIONS, AirflowPrometheusAlertOptions } from './airflow-prometheus-alerts';
import { CustomAlertProps, customAlertDefinition } from './custom-alerts';
import {
  DATA_FACTORY_AIRFLOW_ALERT_OPTIONS,
  DataFactoryAirflowEnvironment,
  DataFactoryAirflowMonitoring,
  DataFactoryAirflowMonitoringProps,
  monitorDataFactoryAirflow,
} from './data-factory-airflow-monitoring';
import { DataFactoryMonitoring, DataFactoryMonitoringProps } from './data-factory-monitoring';
import { KeyVaultMonitoring, KeyVaultMonitoringProps } from './key-vault-monitoring';
import { BackupStorageMonitoringProps, monitorBackupStorage } from './storage-monitoring';
import { KubernetesClusterMonitoringProps, monitorKubernetesCluster } from './kubernetes-cluster-monitoring';
import {
  KubernetesAirflowMonitoring,
  KubernetesAirflowMonitoringProps,
  KubernetesAirflowScheduler,
  monitorKubernetesAirflow,
} from './kubernetes-airflow-monitoring';
import { MIGRATION_EVENTS_TABLES, MigrationEventIngestion } from './migration-event-ingestion';
import { MIGRATION_EVENTS_TABLE } from './migration-events';
import { MigrationEventsMonitoring, MigrationEventsMonitoringProps } from './migration-events-monitoring';
import { AlertRegistry, DiagnosticSettingRegistry, MonitoringScope, namingFacade } from './monitoring-scope';
import { MonitoringWorkspaceOptions, monitoringWorkspace } from './monitoring-workspace';
import { locationOrResourceGroup } from '../private/azure-regions';
import {
  ACTION_GROUP,
  ALERT_DEFAULTS,
  ALERT_OPTIONS,
  IF_GIVEN,
  LOCK,
  PROMETHEUS_ALERT_OPTIONS,
  LOG_ANALYTICS_WORKSPACE,
  MIGRATION_STALLED_ALERT,
  RESOURCE_GROUP,
  requireCustomAlerts,
  requireMethodProps,
  requireProps,
  SOURCE_FROZEN_TOO_LONG_ALERT,
  SYNTH_READ_STRINGS,
} from '../private/prop-checks';
import { onlyListed } from '../private/required-fields';

/** Props of {@link MigrationMonitoring}. */
export interface MigrationMonitoringProps extends MonitoringWorkspaceOptions, ActionGroupOptions {
  /** Resource group of everything this construct creates. */
  readonly resourceGroup: IResourceGroup;
  /**
   * Region of the workspace, the ingestion endpoint and rule, and the log alerts. With an existing
   * `workspace`, the workspace's region: Azure requires the rule to be in it.
   * @default - the given `workspace`'s `location` (a `LogAnalyticsWorkspace` or a Data lookup has one), else the resource group's
   */
  readonly location?: string;
  /**
   * Prefix of every Azure name (the plan name, e.g. `contoso-sql`): lowercase letters, digits and
   * hyphens, at most 40 characters. With {@link MigrationMonitoring.monitorMigrationEvents} it must
   * be the plan's `name`: the alerts and the workbook read only the events whose `PlanName` (which
   * the DAG writes) is this name, and a name no plan can have is refused.
   */
  readonly namePrefix: string;
  /**
   * Tags of every taggable resource created.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Defaults for every alert this facade creates; each alert's own options win.
   * @default - alerts enabled, resolved automatically, no runbook link
   */
  readonly alertDefaults?: AlertDefaults;
}

/**
 * The alert settings a stack passes through to its {@link MigrationMonitoring}
 * (`DatabaseMigrationStackProps.monitoring`): defaults, per-alert overrides, and alerts of one's own.
 */
export interface MigrationMonitoringOptions
  extends Pick<MigrationMonitoringProps, 'alertDefaults'>,
    Pick<
      MigrationEventsMonitoringProps,
      | 'migrationFailedAlert'
      | 'rollbackFailedAlert'
      | 'migrationRunningLongAlert'
      | 'migrationStalledAlert'
      | 'sourceFrozenTooLongAlert'
      | 'cutoverAwaitingApprovalAlert'
      | 'cutoverPostponedAlert'
      | 'eventIngestionErrorsAlert'
    >,
    Pick<DataFactoryMonitoringProps, 'selfHostedRuntimeOfflineAlert' | 'selfHostedRuntimeCpuAlert' | 'selfHostedRuntimeMemoryAlert' | 'airflowTaskFailuresAlert' | 'airflowDagImportErrorsAlert'>,
    Pick<KeyVaultMonitoringProps, 'keyVaultAvailabilityAlert' | 'keyVaultSaturationAlert'>,
    BackupStorageMonitoringProps,
    KubernetesClusterMonitoringProps,
    AirflowPrometheusAlertOptions {
  /**
   * Overrides of the missing pool alert (`alert-<plan name>-airflow-missing-pool`), on the hosts
   * whose scheduler log reaches the workspace: kubernetes (Container Insights) and dataFactory (its
   * `AirflowSchedulerLogs`).
   * @default - severity 1, every 5 minutes over 15 minutes, count more than 0, per pool
   */
  readonly missingPoolAlert?: AlertOptions;
  /**
   * More alerts, keyed by name (`alert-<plan name>-<key>`), with the same defaults and action group
   * (see {@link MigrationMonitoring.addAlert}).
   * @default - none
   */
  readonly customAlerts?: Readonly<Record<string, CustomAlertProps>>;
}

/**
 * Monitoring of a migration plan: a Log Analytics workspace (or an existing one), an action group,
 * and chainable `monitorXxx()` methods, each dispatching to a small class that adds the
 * diagnostics and alerts of one kind of thing watched (cdk-monitoring-constructs' facade).
 * `addAlert` adds any alert with the same defaults; `createdAlerts()`, `createdDiagnosticSettings()`
 * and `createdWorkbook()` give what was made.
 */
export class MigrationMonitoring extends Construct {
  /** The workspace every signal goes to. */
  public readonly workspace: ILogAnalyticsWorkspace;
  /** ARM id of the workspace. */
  public readonly workspaceId: string;
  /** The action group every alert acts through: the created one, or the given `actionGroup`. */
  public readonly actionGroup: IActionGroup;
  /** ARM id of the action group every alert acts through. */
  public readonly actionGroupId: string;
  /** Region of the regional resources (workspace, ingestion, log alerts). */
  public readonly location: string;

  private readonly monitoringScope: MonitoringScope;
  private readonly workspaceGiven: boolean;
  private ingestion?: MigrationEventIngestion;
  private workbook?: ApplicationInsightsWorkbook;
  private readonly preventDestroy?: boolean;
  private factoryMonitored = false;
  private keyVaultsMonitored = 0;
  private backupStorageMonitored = false;
  private clusterMonitored = false;

  constructor(scope: Construct, id: string, props: MigrationMonitoringProps) {
    requireProps(scope, id, 'MigrationMonitoring', props, {
      resourceGroup: RESOURCE_GROUP,
      location: IF_GIVEN.string,
      namePrefix: 'string',
      tags: IF_GIVEN.map,
      alertDefaults: ALERT_DEFAULTS,
      workspace: { ifGiven: LOG_ANALYTICS_WORKSPACE },
      retentionInDays: IF_GIVEN.number,
      localAuthenticationEnabled: IF_GIVEN.boolean,
      preventDestroy: IF_GIVEN.boolean,
      lock: LOCK,
      actionGroup: { ifGiven: ACTION_GROUP },
      emails: SYNTH_READ_STRINGS,
      actionGroupName: IF_GIVEN.string,
      actionGroupShortName: IF_GIVEN.string,
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    const { resourceGroup, namePrefix, tags } = props;
    this.location = locationOrResourceGroup(this, { location: props.location ?? props.workspace?.location, resourceGroup });
    this.workspace = monitoringWorkspace(this, props, { resourceGroup, location: this.location, namePrefix, tags });
    this.workspaceGiven = props.workspace !== undefined;
    this.preventDestroy = props.preventDestroy;
    this.workspaceId = this.workspace.id;
    this.actionGroup = migrationActionGroup(this, props, resourceGroup, namePrefix, tags);
    this.actionGroupId = this.actionGroup.id;

    const alerts = new AlertRegistry(
      {
        scope: this,
        resourceGroupName: resourceGroup.name,
        location: this.location,
        actionGroupId: this.actionGroupId,
        defaults: props.alertDefaults ?? {},
        tags,
      },
      this.workspaceId,
    );
    const diagnosticSettings = new DiagnosticSettingRegistry(this, this.workspace);
    this.monitoringScope = { scope: this, resourceGroup, location: this.location, namePrefix, workspace: this.workspace, tags, alerts, diagnosticSettings };
  }

  /** Where the DAG sends its events. Available after {@link monitorMigrationEvents}. */
  public get eventIngestion(): MigrationEventIngestion {
    if (!this.ingestion) {
      throw new Error(`${this.node.path}: call monitorMigrationEvents() before reading eventIngestion`);
    }
    return this.ingestion;
  }

  /**
   * The migration-events table with its Logs Ingestion endpoint and rule ({@link eventIngestion}),
   * the "migration failed" and "migration running long" alerts on it (and "migration run stalled"
   * when asked), "source frozen too long" (given the plan's `databases`), the "cutover awaiting
   * approval" and "cutover postponed" alerts, the rule's error log (`LogErrors`, to `DCRLogErrors`)
   * with the "event ingestion errors" alert on it, and the workbook.
   */
  public monitorMigrationEvents(props: MigrationEventsMonitoringProps = {}): this {
    requireMethodProps(this, 'monitorMigrationEvents', 'props', props, onlyListed({
      longRunningMinutes: IF_GIVEN.numberReadAtSynth,
      migrationFailedAlert: ALERT_OPTIONS,
      rollbackFailedAlert: ALERT_OPTIONS,
      migrationRunningLongAlert: ALERT_OPTIONS,
      migrationStalledAlert: MIGRATION_STALLED_ALERT,
      databases: { ifGiven: { each: 'object' } },
      sourceFrozenTooLongAlert: SOURCE_FROZEN_TOO_LONG_ALERT,
      cutoverAwaitingApprovalAlert: ALERT_OPTIONS,
      cutoverPostponedAlert: ALERT_OPTIONS,
      eventIngestionErrorsAlert: ALERT_OPTIONS,
      cutoverAlerts: IF_GIVEN.boolean,
      eventsTable: { ifGiven: { oneOf: MIGRATION_EVENTS_TABLES } },
      workbook: IF_GIVEN.boolean,
    }));
    if (this.ingestion) {
      throw new Error(`${this.node.path}: monitorMigrationEvents() may be called once`);
    }
    if (props.eventsTable === 'existing' && !this.workspaceGiven) {
      throw new Error(
        `${this.node.path}: eventsTable 'existing' needs an existing workspace (workspace), shared with the plan that created the table: ` +
          `the workspace this construct creates has no ${MIGRATION_EVENTS_TABLE} table`,
      );
    }
    // cdktf leaves the id `Default` out of logical ids: the table, endpoint and rule keep the
    // Terraform addresses they had when this facade created them, so an upgrade replaces nothing.
    const ingestion = new MigrationEventIngestion(this, 'Default', {
      resourceGroup: this.monitoringScope.resourceGroup,
      location: this.location,
      namePrefix: this.monitoringScope.namePrefix,
      workspace: this.workspace,
      eventsTable: props.eventsTable,
      preventDestroy: this.preventDestroy,
      tags: this.monitoringScope.tags,
    });
    this.ingestion = ingestion;
    this.workbook = namingFacade(this, () => new MigrationEventsMonitoring(this.monitoringScope, ingestion, props)).workbook?.workbook;
    return this;
  }

  /**
   * Lets `grantee` (the identity the DAG runs as) send migration events: `Monitoring Metrics
   * Publisher` on the data collection rule only ({@link MigrationEventIngestion.grantPublish}).
   */
  public grantPublishEvents(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
    return this.eventIngestion.grantPublish(grantee, options);
  }

  /**
   * The factory's diagnostic setting (runs, `Airflow*` logs of its managed Airflow, and `AllMetrics`
   * to the workspace, in resource-specific tables), one on its DAG storage's blobs, metric alerts
   * on the managed Airflow's task failures and DAG import errors and a log alert on its scheduler's
   * missing pool line, and a metric alert on the self-hosted integration runtime going offline,
   * each when the factory has that runtime (given by name).
   */
  public monitorDataFactory(factory: IDataFactory, props: DataFactoryMonitoringProps = {}): this {
    requireMethodProps(this, 'monitorDataFactory', 'props', props, onlyListed({
      selfHostedIntegrationRuntimeName: IF_GIVEN.string,
      airflowIntegrationRuntimeName: IF_GIVEN.string,
      allLogs: IF_GIVEN.boolean,
      diagnosticSettingName: IF_GIVEN.string,
      dagStorageAccountId: IF_GIVEN.string,
      airflowTaskFailuresAlert: ALERT_OPTIONS,
      airflowDagImportErrorsAlert: ALERT_OPTIONS,
      missingPoolAlert: ALERT_OPTIONS,
      selfHostedRuntimeOfflineAlert: ALERT_OPTIONS,
      selfHostedRuntimeCpuAlert: ALERT_OPTIONS,
      selfHostedRuntimeMemoryAlert: ALERT_OPTIONS,
    }));
    if (this.factoryMonitored) {
      throw new Error(`${this.node.path}: monitorDataFactory() may be called once; use another MigrationMonitoring for another factory`);
    }
    this.factoryMonitored = true;
    namingFacade(this, () => new DataFactoryMonitoring(this.monitoringScope, factory, props));
    return this;
  }

  /**
   * A vault's audit log (`AuditEvent`: every request, each secret read with who read it) to the
   * workspace, in the resource-specific table `AZKVAuditLogs`, and metric alerts on its availability
   * (`alert-<namePrefix>-key-vault-availability`) and saturation (`alert-<namePrefix>-key-vault-saturation`;
   * a second vault's alerts end in `-2`, and so on). The stack calls this for the Key Vault it creates
   * for the SQL credentials (not for one you pass in: its monitoring is yours).
   */
  public monitorKeyVault(vault: Pick<IKeyVault, 'id' | 'name'>, props: KeyVaultMonitoringProps = {}): this {
    requireMethodProps(this, 'monitorKeyVault', 'props', props, onlyListed({
      diagnosticSettingName: IF_GIVEN.string,
      keyVaultAvailabilityAlert: ALERT_OPTIONS,
      keyVaultSaturationAlert: ALERT_OPTIONS,
    }));
    this.keyVaultsMonitored += 1;
    const count = this.keyVaultsMonitored;
    const id = count === 1 ? 'KeyVaultDiagnostics' : `KeyVaultDiagnostics${count}`;
    namingFacade(this, () => new KeyVaultMonitoring(this.monitoringScope, id, vault, props, count === 1 ? '' : String(count)));
    return this;
  }

  /**
   * A metric alert on the storage account where DMS stages the SqlMi and SqlVm backups and restores from them
   * through the window (`alert-<namePrefix>-backup-storage-availability`): Azure Monitor Baseline Alerts'
   * `Availability` alert. The stack calls this for the plan's `backupStorage` when a SqlMi or SqlVm target uses it.
   */
  public monitorBackupStorage(storageAccountId: string, props: BackupStorageMonitoringProps = {}): this {
    requireMethodProps(this, 'monitorBackupStorage', 'props', props, onlyListed({ backupStorageAvailabilityAlert: ALERT_OPTIONS }));
    if (this.backupStorageMonitored) {
      throw new Error(`${this.node.path}: monitorBackupStorage() may be called once (the plan has one backupStorage)`);
    }
    this.backupStorageMonitored = true;
    namingFacade(this, () => monitorBackupStorage(this.monitoringScope, storageAccountId, props));
    return this;
  }

  /**
   * An adopted Data Factory Airflow environment's own signals, on its factory: a diagnostic setting
   * sending its five `Airflow*` log categories to the workspace (`diag-<namePrefix>-airflow`, unless
   * `airflowLogs` is false), metric alerts on its task failures and DAG import errors, watching it
   * by name, and with the logs a log alert on its scheduler's missing pool line; the alerts are
   * listed by {@link createdAlerts} like every other. The Data Factory host calls this for its environment.
   */
  public monitorDataFactoryAirflow(environment: DataFactoryAirflowEnvironment, props: DataFactoryAirflowMonitoringProps = {}): DataFactoryAirflowMonitoring {
    requireMethodProps(this, 'monitorDataFactoryAirflow', 'props', props, onlyListed({
      airflowLogs: IF_GIVEN.boolean,
      airflowTaskFailuresAlert: ALERT_OPTIONS,
      airflowDagImportErrorsAlert: ALERT_OPTIONS,
      missingPoolAlert: ALERT_OPTIONS,
    }));
    return namingFacade(this, () => monitorDataFactoryAirflow(this.monitoringScope, environment, props));
  }

  /**
   * A Kubernetes host's scheduler, whose log Container Insights writes to this workspace: a log
   * alert on its "Tasks using non-existent pool" line and, given the host's `makePrometheusRuleGroup`,
   * its Prometheus alert rules on Airflow's statsd metrics, with this facade's alert defaults and
   * action group, listed by {@link createdAlerts} like every other. The Kubernetes host calls this
   * when given the plan's monitoring.
   */
  public monitorKubernetesAirflow(scheduler: KubernetesAirflowScheduler, props: KubernetesAirflowMonitoringProps = {}): KubernetesAirflowMonitoring {
    requireMethodProps(this, 'monitorKubernetesAirflow', 'props', props, onlyListed({
      missingPoolAlert: ALERT_OPTIONS,
      airflowTaskFailuresRule: PROMETHEUS_ALERT_OPTIONS,
      airflowDagImportErrorsRule: PROMETHEUS_ALERT_OPTIONS,
      airflowSchedulerHeartbeatMissingRule: PROMETHEUS_ALERT_OPTIONS,
    }));
    return namingFacade(this, () => monitorKubernetesAirflow(this.monitoringScope, scheduler, props));
  }

  /**
   * Metric alerts on the nodes of the Kubernetes host's cluster, per node: CPU (`alert-<namePrefix>-aks-node-cpu`)
   * and memory working set (`alert-<namePrefix>-aks-node-memory`), Azure Monitor Baseline Alerts' settings. The stack
   * calls this for the Kubernetes host's cluster.
   */
  public monitorKubernetesCluster(clusterId: string, props: KubernetesClusterMonitoringProps = {}): this {
    requireMethodProps(this, 'monitorKubernetesCluster', 'props', props, onlyListed({ aksNodeCpuAlert: ALERT_OPTIONS, aksNodeMemoryAlert: ALERT_OPTIONS }));
    if (this.clusterMonitored) {
      throw new Error(`${this.node.path}: monitorKubernetesCluster() may be called once (a plan has one Airflow cluster)`);
    }
    this.clusterMonitored = true;
    namingFacade(this, () => monitorKubernetesCluster(this.monitoringScope, clusterId, props));
    return this;
  }

  /**
   * Adds an alert of one's own, named `alert-<namePrefix>-<name>`, with this facade's defaults and
   * action group, listed by {@link createdAlerts}. Each alert needs its own name, so a warning and
   * a critical threshold on one signal are two alerts.
   */
  public addAlert(name: string, alert: CustomAlertProps): CreatedMetricAlert | CreatedLogAlert {
    requireCustomAlerts(this, 'addAlert', { [name]: alert });
    const { namePrefix, alerts } = this.monitoringScope;
    if (alert.kind === 'metric') {
      return alerts.metric(alert.resource.id, namingFacade(this, () => customAlertDefinition(namePrefix, name, alert)), alert);
    }
    return alerts.log(namingFacade(this, () => customAlertDefinition(namePrefix, name, alert, this.ingestion?.table)), alert);
  }

  /** {@link addAlert} for each entry, keyed by name. */
  public monitorCustom(alerts: Readonly<Record<string, CustomAlertProps>>): this {
    requireCustomAlerts(this, 'monitorCustom', alerts);
    for (const [name, alert] of Object.entries(alerts)) {
      this.addAlert(name, alert);
    }
    return this;
  }

  /** Every alert this facade has created so far, in creation order. */
  public createdAlerts(): readonly CreatedAlert[] {
    return this.monitoringScope.alerts.list();
  }

  /**
   * Every diagnostic setting this facade has created so far, in creation order: the factory's and its
   * DAG storage's, the events rule's (`diag-<rule name>`), each vault's, an Airflow environment's.
   */
  public createdDiagnosticSettings(): readonly MonitorDiagnosticSetting[] {
    return this.monitoringScope.diagnosticSettings.list();
  }

  /** The workbook {@link monitorMigrationEvents} created; none before it, or with `workbook: false`. */
  public createdWorkbook(): ApplicationInsightsWorkbook | undefined {
    return this.workbook;
  }
}

/** The hosts that have each host-specific alert, by its option; every other alert is on every host. */
const HOSTS_OF_ALERT_OPTION: Readonly<Record<string, { readonly hosts: readonly string[]; readonly why: string }>> = {
  ...Object.fromEntries(
    DATA_FACTORY_AIRFLOW_ALERT_OPTIONS.map((option) => [
      option,
      { hosts: ['dataFactory'], why: 'only airflow.host dataFactory, an adopted Data Factory environment, reports Airflow metrics to Azure Monitor' },
    ]),
  ),
  ...Object.fromEntries(
    ['aksNodeCpuAlert', 'aksNodeMemoryAlert'].map((option) => [option, { hosts: ['kubernetes'], why: 'only airflow.host kubernetes runs Airflow on an AKS cluster of the stack' }]),
  ),
  missingPoolAlert: {
    hosts: ['kubernetes', 'dataFactory'],
    why: "only airflow.host kubernetes and dataFactory send the Airflow scheduler's log to Azure Monitor",
  },
  ...Object.fromEntries(
    AIRFLOW_PROMETHEUS_ALERT_OPTIONS.map((option) => [
      option,
      { hosts: ['kubernetes'], why: "only airflow.host kubernetes has Prometheus alert rules (on its chart's statsd metrics in managed Prometheus)" },
    ]),
  ),
};

/**
 * Overrides of alerts the plan's host does not have are a mistake, not a no-op: only an adopted Data
 * Factory environment reports Airflow metrics to Azure Monitor (the Kubernetes host's Airflow metric
 * alerts are Prometheus rules, tuned by the `...Rule` options, which only it has), only it and the
 * Kubernetes host send the scheduler's log; Fabric and an external Airflow report nothing.
 */
export function refuseAlertOptionsOfOtherHosts(stack: Construct, host: string, options: MigrationMonitoringOptions): void {
  const foreign = Object.entries(HOSTS_OF_ALERT_OPTION).filter(
    ([option, { hosts }]) => !hosts.includes(host) && options[option as keyof MigrationMonitoringOptions] !== undefined,
  );
  if (foreign.length > 0) {
    const reasons = [...new Set(foreign.map(([, { why }]) => why))].join('; ');
    throw new Error(
      `${stack.node.path}: monitoring.${foreign.map(([option]) => option).join(', monitoring.')}: the plan's Airflow host is ${host}, which has no such alert ` +
        `(${reasons}); remove the override`,
    );
  }
}

/**
 * Overrides of alerts on a resource the stack does not watch are a mistake too: the Key Vault alerts watch only
 * the vault the stack creates (one passed in as `orchestration.keyVault` is monitored by its owners), the backup
 * storage alert only a plan's `backupStorage` that a SqlMi or SqlVm target uses.
 */
export function refuseAlertOptionsWithoutTheirResource(
  stack: Construct,
  watched: { readonly createdKeyVault: boolean; readonly backupStorage: boolean },
  options: MigrationMonitoringOptions,
): void {
  const refused: string[] = [];
  if (!watched.createdKeyVault) {
    const given = (['keyVaultAvailabilityAlert', 'keyVaultSaturationAlert'] as const).filter((option) => options[option] !== undefined);
    if (given.length > 0) {
      refused.push(`monitoring.${given.join(', monitoring.')}: the stack watches only the Key Vault it creates, not orchestration.keyVault (its monitoring is yours)`);
    }
  }
  if (!watched.backupStorage && options.backupStorageAvailabilityAlert !== undefined) {
    refused.push('monitoring.backupStorageAvailabilityAlert: the plan stages no backups (no SqlMi or SqlVm target with backupStorage)');
  }
  if (refused.length > 0) throw new Error(`${stack.node.path}: ${refused.join('; ')}; remove the override`);
}
