import { Annotations, Token } from 'cdktf';
import { Construct } from 'constructs';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { LogAnalyticsWorkspaceTableCustomLog } from '@cdktf/provider-azurerm/lib/log-analytics-workspace-table-custom-log';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { IDataFactory, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { resourceName } from '../core/naming';
import { MigrationWorkbook } from './migration-workbook';
import { addDeleteLock } from '../core/protection';
import { BuiltInRole } from '../core/role-names';
import {
  AlertDefaults,
  AlertOptions,
  AlertTarget,
  CreatedAlert,
  createLogAlert,
  createMetricAlert,
} from './alerts';
import {
  ALL_LOGS_CATEGORY_GROUP,
  ALL_METRICS_CATEGORY,
  DATA_FACTORY_LOG_CATEGORIES,
  DATA_FACTORY_RUN_LOG_CATEGORIES,
  airflowDagImportErrorsAlert,
  airflowTaskFailuresAlert,
  selfHostedRuntimeOfflineAlert,
} from './data-factory-signals';
import {
  MIGRATION_EVENTS_STREAM,
  MIGRATION_EVENTS_TABLE,
  MIGRATION_EVENT_COLUMNS,
  migrationFailedAlert,
  migrationRunningLongAlert,
  runningLongWindowMinutes,
} from './migration-events';
import { STORAGE_BLOB_LOG_CATEGORIES, STORAGE_TRANSACTION_METRIC_CATEGORY, blobServiceId } from './storage-signals';

/** Built-in role that lets a principal send data to a data collection rule, and nothing more. */
export const MONITORING_METRICS_PUBLISHER_ROLE = BuiltInRole.MONITORING_METRICS_PUBLISHER;

/** Azure's limit for an action group's short name (shown in SMS and email subjects). */
const ACTION_GROUP_SHORT_NAME_MAX = 12;

/** Data collection endpoints allow 3-44 characters, so `dce-` leaves 40 for the prefix. */
const NAME_PREFIX_MAX = 40;
const NAME_PREFIX_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** PerGB2018 workspaces keep data 30 to 730 days. */
const RETENTION_DAYS_MIN = 30;
const RETENTION_DAYS_MAX = 730;

/** Log alerts may look back at most two days. */
const LOG_ALERT_MAX_WINDOW_MINUTES = 2880;

/** Loose on purpose: Azure does the real check; this catches typos and swapped fields at synth. */
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Props of {@link MigrationMonitoring}. */
export interface MigrationMonitoringProps {
  /** Resource group of everything this construct creates. */
  readonly resourceGroup: IResourceGroup;
  /**
   * Region of the workspace, the ingestion endpoint and rule, and the log alerts. With an existing
   * `workspace`, give the workspace's region: Azure requires the rule to be in it.
   * @default - the resource group's location
   */
  readonly location?: string;
  /**
   * Prefix of every Azure name (the plan name, e.g. `contoso-sql`): lowercase letters, digits and
   * hyphens, at most 40 characters.
   */
  readonly namePrefix: string;
  /**
   * Tags of every taggable resource created.
   * @default - none
   */
  readonly tags?: { [key: string]: string };
  /**
   * An existing Log Analytics workspace to use; this construct then never changes or protects it.
   * @default - creates `log-<namePrefix>` (PerGB2018)
   */
  readonly workspace?: ILogAnalyticsWorkspace;
  /**
   * Days the created workspace keeps data (30-730). Ignored with an existing `workspace`.
   * @default 30
   */
  readonly retentionInDays?: number;
  /**
   * Whether the created workspace accepts shared-key (non-Entra ID) access. Nothing this library
   * deploys needs it. Ignored with an existing `workspace`.
   * @default false
   */
  readonly localAuthenticationEnabled?: boolean;
  /**
   * `prevent_destroy` on the created workspace, so `terraform destroy` or a replacement cannot
   * delete the migration history. Turn off for throwaway environments. Ignored with an existing
   * `workspace`.
   * @default true
   */
  readonly protectWorkspace?: boolean;
  /**
   * A `CanNotDelete` management lock on the created workspace, which also stops deletion outside
   * Terraform (portal, CLI). Remove the lock before deleting the workspace or its tables. Ignored
   * with an existing `workspace`.
   * @default false
   */
  readonly workspaceLock?: boolean;
  /** Email addresses the action group notifies (the plan's `notifications.emails`). */
  readonly emails: readonly string[];
  /**
   * Name of the action group.
   * @default 'migration-alerts'
   */
  readonly actionGroupName?: string;
  /**
   * Short name of the action group (at most 12 characters), shown in notifications.
   * @default 'migration'
   */
  readonly actionGroupShortName?: string;
  /**
   * Defaults for every alert this facade creates; each alert's own options win.
   * @default - alerts enabled, resolved automatically, no runbook link
   */
  readonly alertDefaults?: AlertDefaults;
}

/** Props of {@link MigrationMonitoring.monitorMigrationEvents}. */
export interface MigrationEventsMonitoringProps {
  /**
   * A migration that has not ended this many minutes after it started raises "migration running
   * long" (the plan's `notifications.longRunningMinutes`).
   * @default 60
   */
  readonly longRunningMinutes?: number;
  /**
   * Overrides of the "migration failed" alert.
   * @default - severity 1, every 5 minutes over 5 minutes, more than 0 failed steps per database
   */
  readonly migrationFailedAlert?: AlertOptions;
  /**
   * Overrides of the "migration running long" alert. Its window must be at least the DAG's
   * heartbeat interval (15 minutes) plus its frequency, so every evaluation sees an event of each
   * running migration.
   * @default - severity 2, every 15 minutes, over the shortest allowed window of at least one day
   * and twice `longRunningMinutes`, more than 0 databases
   */
  readonly migrationRunningLongAlert?: AlertOptions;
  /**
   * Deploy the Azure Monitor workbook that shows each database's status, phase minutes and failures.
   * @default true
   */
  readonly workbook?: boolean;
}

/** Props of {@link MigrationMonitoring.monitorDataFactory}. */
export interface DataFactoryMonitoringProps {
  /**
   * Name of the factory's self-hosted integration runtime (the one that reaches the source SQL
   * Server); with it, an alert fires when it has no available node.
   * @default - no integration-runtime-offline alert
   */
  readonly selfHostedIntegrationRuntimeName?: string;
  /**
   * Name of the factory's managed Airflow integration runtime. With it, the Airflow metric alerts
   * (task failures, DAG import errors) watch it and the `Airflow*` log categories are collected;
   * without it the factory runs no managed Airflow, and neither is created: they could never fire.
   * @default - no Airflow alerts and no `Airflow*` log categories
   */
  readonly airflowIntegrationRuntimeName?: string;
  /**
   * Send every log category (`allLogs` category group) instead of the pipeline, activity, trigger
   * (and, with a managed Airflow, `Airflow*`) categories.
   * @default false
   */
  readonly allLogs?: boolean;
  /**
   * Name of the factory's diagnostic setting.
   * @default `diag-<factory name>`
   */
  readonly diagnosticSettingName?: string;
  /**
   * Storage account holding the factory's DAGs; its blob reads, writes and deletes (who changed the
   * code that runs against the databases) go to the workspace through a diagnostic setting.
   * @default - the factory's `dagStorageAccountId` (set by `OrchestrationFactory`); none without one
   */
  readonly dagStorageAccountId?: string;
  /**
   * Overrides of the Airflow task failures alert (`AirflowIntegrationRuntimeTaskInstanceFailures`).
   * @default - severity 2, every 5 minutes over 15 minutes, total more than 0
   */
  readonly airflowTaskFailuresAlert?: AlertOptions;
  /**
   * Overrides of the Airflow DAG import errors alert (`AirflowIntegrationRuntimeDAGProcessingImportErrors`).
   * @default - severity 2, every 5 minutes over 15 minutes, total more than 0
   */
  readonly airflowDagImportErrorsAlert?: AlertOptions;
  /**
   * Overrides of the self-hosted integration runtime offline alert
   * (`IntegrationRuntimeAvailableNodeNumber`); `threshold` is the minimum number of available nodes.
   * @default - severity 1, every 5 minutes over 15 minutes, average fewer than 1 node
   */
  readonly selfHostedRuntimeOfflineAlert?: AlertOptions;
}

/** Where the DAG sends its events (Logs Ingestion API), for the Airflow environment's settings. */
export interface MigrationEventIngestion {
  /** Logs ingestion URL of the data collection endpoint. */
  readonly endpointUrl: string;
  /** ARM id of the data collection rule (the scope of the publisher role). */
  readonly dataCollectionRuleId: string;
  /** Immutable id (`dcr-...`) the Logs Ingestion client takes as `rule_id`. */
  readonly dataCollectionRuleImmutableId: string;
  /** `Custom-MigrationEvents_CL`. */
  readonly streamName: string;
  /** `MigrationEvents_CL`. */
  readonly tableName: string;
}

/** Options of {@link MigrationMonitoring.grantEventPublisher}. */
export interface EventPublisherGrantOptions {
  /**
   * Type of the principal; set it for a new managed identity to avoid Entra ID replication errors.
   * @default - Azure looks it up
   */
  readonly principalType?: 'ServicePrincipal' | 'User' | 'Group';
}

/**
 * Monitoring of a migration plan: a Log Analytics workspace (or an existing one), an action group,
 * and chainable `monitorXxx()` methods that add diagnostics and alerts on signals that exist in
 * Azure (cdk-monitoring-constructs' facade). `createdAlerts()` lists what was made.
 */
export class MigrationMonitoring extends Construct {
  /** The workspace every signal goes to. */
  public readonly workspace: ILogAnalyticsWorkspace;
  /** ARM id of the workspace. */
  public readonly workspaceId: string;
  /** ARM id of the action group every alert acts through. */
  public readonly actionGroupId: string;
  /** Region of the regional resources (workspace, ingestion, log alerts). */
  public readonly location: string;

  private readonly namePrefix: string;
  private readonly resourceGroup: IResourceGroup;
  private readonly tags?: { [key: string]: string };
  private readonly alertTarget: AlertTarget;
  private readonly alerts: CreatedAlert[] = [];
  private ingestion?: MigrationEventIngestion;
  private factoryMonitored = false;

  constructor(scope: Construct, id: string, props: MigrationMonitoringProps) {
    super(scope, id);
    validateNamePrefix(props.namePrefix);
    this.namePrefix = props.namePrefix;
    this.resourceGroup = props.resourceGroup;
    this.tags = props.tags;
    this.location = props.location ?? props.resourceGroup.location;

    this.workspace = props.workspace
      ? this.useExistingWorkspace(props.workspace, props)
      : this.createWorkspace(props);
    this.workspaceId = this.workspace.id;

    const actionGroup = this.createActionGroup(props);
    this.actionGroupId = actionGroup.id;

    this.alertTarget = {
      scope: this,
      resourceGroupName: props.resourceGroup.name,
      location: this.location,
      actionGroupId: this.actionGroupId,
      defaults: props.alertDefaults ?? {},
      tags: props.tags,
    };
  }

  /**
   * Where the DAG sends its events. Available after {@link monitorMigrationEvents}.
   */
  public get eventIngestion(): MigrationEventIngestion {
    if (!this.ingestion) {
      throw new Error(`${this.node.path}: call monitorMigrationEvents() before reading eventIngestion`);
    }
    return this.ingestion;
  }

  /**
   * The migration-events table, its Logs Ingestion endpoint and rule, and the "migration failed"
   * and "migration running long" alerts on it.
   */
  public monitorMigrationEvents(props: MigrationEventsMonitoringProps = {}): this {
    if (this.ingestion) {
      throw new Error(`${this.node.path}: monitorMigrationEvents() may be called once`);
    }
    const longRunningMinutes = props.longRunningMinutes ?? 60;
    const runningLongFrequencyMinutes = props.migrationRunningLongAlert?.evaluationFrequencyMinutes ?? 15;
    validateLongRunningMinutes(longRunningMinutes, runningLongFrequencyMinutes);

    const table = new LogAnalyticsWorkspaceTableCustomLog(this, 'EventsTable', {
      name: MIGRATION_EVENTS_TABLE,
      workspaceId: this.workspaceId,
      displayName: 'Migration events',
      description: 'One row per step of each database migration, written by the migration DAG.',
      plan: 'Analytics',
      column: MIGRATION_EVENT_COLUMNS.map((column) => ({
        name: column.name,
        type: column.tableType,
        description: column.description,
      })),
    });

    const endpoint = new MonitorDataCollectionEndpoint(this, 'EventsEndpoint', {
      name: resourceName('dce', this.namePrefix),
      resourceGroupName: this.resourceGroup.name,
      location: this.location,
      description: 'Logs Ingestion endpoint of the migration DAG.',
      // The managed Airflow reaches it over the internet; every call still needs an Entra ID token
      // with the publisher role on the rule.
      publicNetworkAccessEnabled: true,
      tags: this.tags,
    });

    const destination = 'migrationWorkspace';
    // No `kind`: a rule used through a data collection endpoint by the Logs Ingestion API needs none.
    const rule = new MonitorDataCollectionRule(this, 'EventsRule', {
      name: resourceName('dcr', this.namePrefix),
      resourceGroupName: this.resourceGroup.name,
      location: this.location,
      description: `Routes ${MIGRATION_EVENTS_STREAM} from the migration DAG to ${MIGRATION_EVENTS_TABLE}.`,
      dataCollectionEndpointId: endpoint.id,
      streamDeclaration: [
        {
          streamName: MIGRATION_EVENTS_STREAM,
          column: MIGRATION_EVENT_COLUMNS.map((column) => ({ name: column.name, type: column.streamType })),
        },
      ],
      destinations: {
        logAnalytics: [{ name: destination, workspaceResourceId: this.workspaceId }],
      },
      dataFlow: [
        {
          streams: [MIGRATION_EVENTS_STREAM],
          destinations: [destination],
          outputStream: MIGRATION_EVENTS_STREAM,
          transformKql: 'source',
        },
      ],
      // Azure rejects a rule whose output stream names a table that does not exist yet.
      dependsOn: [table],
      tags: this.tags,
    });

    this.ingestion = {
      endpointUrl: endpoint.logsIngestionEndpoint,
      dataCollectionRuleId: rule.id,
      dataCollectionRuleImmutableId: rule.immutableId,
      streamName: MIGRATION_EVENTS_STREAM,
      tableName: MIGRATION_EVENTS_TABLE,
    };

    this.alerts.push(
      createLogAlert(
        this.alertTarget,
        this.workspaceId,
        migrationFailedAlert(this.namePrefix, table),
        props.migrationFailedAlert,
      ),
    );

    const windowMinutes = runningLongWindowMinutes(
      longRunningMinutes,
      runningLongFrequencyMinutes,
      props.migrationRunningLongAlert?.windowMinutes,
    );
    this.alerts.push(
      createLogAlert(
        this.alertTarget,
        this.workspaceId,
        migrationRunningLongAlert(this.namePrefix, longRunningMinutes, windowMinutes, table),
        { ...props.migrationRunningLongAlert, windowMinutes },
      ),
    );
    if (props.workbook ?? true) {
      const workbook = new MigrationWorkbook(this, 'Workbook', {
        resourceGroup: this.resourceGroup,
        location: this.location,
        workspace: this.workspace,
        namePrefix: this.namePrefix,
        tags: this.tags,
      });
      workbook.node.addDependency(table);
    }
    return this;
  }

  /**
   * Lets `principalId` (for example the Data Factory's managed identity) send migration events:
   * `Monitoring Metrics Publisher` on the data collection rule only.
   */
  public grantEventPublisher(id: string, principalId: string, options: EventPublisherGrantOptions = {}): RoleAssignment {
    const ingestion = this.eventIngestion;
    return new RoleAssignment(this, id, {
      scope: ingestion.dataCollectionRuleId,
      roleDefinitionName: MONITORING_METRICS_PUBLISHER_ROLE,
      principalId,
      principalType: options.principalType,
      description: `Publish migration events to ${ingestion.streamName}`,
    });
  }

  /**
   * The factory's diagnostic setting (runs, `Airflow*` logs of its managed Airflow, and `AllMetrics`
   * to the workspace, in resource-specific tables), one on its DAG storage's blobs, and metric
   * alerts on the managed Airflow's task failures and DAG import errors and on the self-hosted
   * integration runtime going offline, each when the factory has that runtime (given by name).
   */
  public monitorDataFactory(factory: IDataFactory, props: DataFactoryMonitoringProps = {}): this {
    if (this.factoryMonitored) {
      throw new Error(
        `${this.node.path}: monitorDataFactory() may be called once; use another MigrationMonitoring for another factory`,
      );
    }
    this.factoryMonitored = true;
    const airflowRuntime = props.airflowIntegrationRuntimeName;
    if (airflowRuntime === undefined) {
      const orphaned = (['airflowTaskFailuresAlert', 'airflowDagImportErrorsAlert'] as const).filter((option) => props[option] !== undefined);
      if (orphaned.length > 0) {
        throw new Error(
          `${orphaned.join(', ')} given without airflowIntegrationRuntimeName: a factory without a managed Airflow gets no Airflow alerts`,
        );
      }
    }

    new MonitorDiagnosticSetting(this, 'FactoryDiagnostics', {
      name: props.diagnosticSettingName ?? `diag-${factory.name}`,
      targetResourceId: factory.id,
      logAnalyticsWorkspaceId: this.workspaceId,
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: props.allLogs
        ? [{ categoryGroup: ALL_LOGS_CATEGORY_GROUP }]
        : (airflowRuntime === undefined ? DATA_FACTORY_RUN_LOG_CATEGORIES : DATA_FACTORY_LOG_CATEGORIES).map((category) => ({ category })),
      enabledMetric: [{ category: ALL_METRICS_CATEGORY }],
    });

    const dagStorageAccountId = props.dagStorageAccountId ?? factory.dagStorageAccountId;
    if (dagStorageAccountId !== undefined) {
      new MonitorDiagnosticSetting(this, 'DagStorageDiagnostics', {
        name: 'diag-dag-blobs',
        targetResourceId: blobServiceId(dagStorageAccountId),
        logAnalyticsWorkspaceId: this.workspaceId,
        enabledLog: STORAGE_BLOB_LOG_CATEGORIES.map((category) => ({ category })),
        enabledMetric: [{ category: STORAGE_TRANSACTION_METRIC_CATEGORY }],
      });
    }

    if (airflowRuntime !== undefined) {
      this.alerts.push(
        createMetricAlert(
          this.alertTarget,
          factory.id,
          airflowTaskFailuresAlert(this.namePrefix, airflowRuntime),
          props.airflowTaskFailuresAlert,
        ),
        createMetricAlert(
          this.alertTarget,
          factory.id,
          airflowDagImportErrorsAlert(this.namePrefix, airflowRuntime),
          props.airflowDagImportErrorsAlert,
        ),
      );
    }

    if (props.selfHostedIntegrationRuntimeName !== undefined) {
      const minimumAvailableNodes = props.selfHostedRuntimeOfflineAlert?.threshold ?? 1;
      this.alerts.push(
        createMetricAlert(
          this.alertTarget,
          factory.id,
          selfHostedRuntimeOfflineAlert(this.namePrefix, props.selfHostedIntegrationRuntimeName, minimumAvailableNodes),
          props.selfHostedRuntimeOfflineAlert,
        ),
      );
    }
    return this;
  }

  /** Every alert this facade has created so far, in creation order. */
  public createdAlerts(): readonly CreatedAlert[] {
    return [...this.alerts];
  }

  private createWorkspace(props: MigrationMonitoringProps): ILogAnalyticsWorkspace {
    const retentionInDays = props.retentionInDays ?? 30;
    if (
      !Token.isUnresolved(retentionInDays) &&
      (!Number.isInteger(retentionInDays) || retentionInDays < RETENTION_DAYS_MIN || retentionInDays > RETENTION_DAYS_MAX)
    ) {
      throw new Error(
        `retentionInDays must be an integer from ${RETENTION_DAYS_MIN} to ${RETENTION_DAYS_MAX} (got ${retentionInDays})`,
      );
    }
    const localAuthenticationEnabled = props.localAuthenticationEnabled ?? false;
    if (localAuthenticationEnabled) {
      this.warn('localAuthenticationEnabled is true: the workspace accepts shared keys besides Entra ID tokens.');
    }
    const protectWorkspace = props.protectWorkspace ?? true;
    if (!protectWorkspace) {
      this.warn(
        'protectWorkspace is false: `terraform destroy` or a replacement deletes the workspace and the migration history in it.',
      );
    }

    const workspace = new LogAnalyticsWorkspace(this, 'Workspace', {
      name: resourceName('log', props.namePrefix),
      resourceGroupName: props.resourceGroup.name,
      location: this.location,
      sku: 'PerGB2018',
      retentionInDays,
      localAuthenticationEnabled,
      tags: props.tags,
      lifecycle: protectWorkspace ? { preventDestroy: true } : undefined,
    });

    if (props.workspaceLock ?? false) {
      addDeleteLock(this, 'WorkspaceLock', workspace, 'Holds the migration history; remove this lock before deleting the workspace.');
    }
    return workspace;
  }

  private useExistingWorkspace(
    workspace: ILogAnalyticsWorkspace,
    props: MigrationMonitoringProps,
  ): ILogAnalyticsWorkspace {
    const ignored = (
      ['retentionInDays', 'localAuthenticationEnabled', 'protectWorkspace', 'workspaceLock'] as const
    ).filter((prop) => props[prop] !== undefined);
    if (ignored.length > 0) {
      this.warn(
        `${ignored.join(', ')} ignored: the workspace was passed in, and this construct never changes what it was handed.`,
      );
    }
    return workspace;
  }

  private createActionGroup(props: MigrationMonitoringProps): MonitorActionGroup {
    const shortName = props.actionGroupShortName ?? 'migration';
    if (!Token.isUnresolved(shortName) && (shortName.length === 0 || shortName.length > ACTION_GROUP_SHORT_NAME_MAX)) {
      throw new Error(
        `actionGroupShortName must be 1 to ${ACTION_GROUP_SHORT_NAME_MAX} characters (got "${shortName}", ${shortName.length})`,
      );
    }
    const invalid = props.emails.filter((email) => !Token.isUnresolved(email) && !EMAIL_PATTERN.test(email));
    if (invalid.length > 0) {
      throw new Error(`emails: not an email address: ${invalid.map((email) => `"${email}"`).join(', ')}`);
    }
    if (props.emails.length === 0) {
      this.warn('emails is empty: alerts fire, but the action group notifies no one.');
    }
    return new MonitorActionGroup(this, 'ActionGroup', {
      name: props.actionGroupName ?? 'migration-alerts',
      shortName,
      resourceGroupName: props.resourceGroup.name,
      emailReceiver: props.emails.map((emailAddress, index) => ({
        name: `email-${index + 1}`,
        emailAddress,
        useCommonAlertSchema: true,
      })),
      tags: props.tags,
    });
  }

  private warn(message: string): void {
    Annotations.of(this).addWarning(`${this.node.path}: ${message}`);
  }
}

function validateNamePrefix(namePrefix: string): void {
  if (Token.isUnresolved(namePrefix)) {
    return;
  }
  if (namePrefix.length > NAME_PREFIX_MAX || !NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new Error(
      `namePrefix must be 1 to ${NAME_PREFIX_MAX} lowercase letters, digits and inner hyphens (got "${namePrefix}")`,
    );
  }
}

function validateLongRunningMinutes(longRunningMinutes: number, evaluationFrequencyMinutes: number): void {
  const max = LOG_ALERT_MAX_WINDOW_MINUTES - evaluationFrequencyMinutes;
  if (!Number.isInteger(longRunningMinutes) || longRunningMinutes < 1 || longRunningMinutes > max) {
    throw new Error(
      `longRunningMinutes must be an integer from 1 to ${max}: a log alert looks back at most two days (got ${longRunningMinutes})`,
    );
  }
}
