import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AzapiProvider } from './azapi/provider';
import { resourceName } from './core/naming';
import { ILogAnalyticsWorkspace } from './core/references';
import { MigrationOperatorRole } from './migration-operator-role';
import { MigrationService } from './migration-service';
import { MigrationMonitoring, MigrationMonitoringOptions } from './monitoring/migration-monitoring';
import { OrchestrationFactory, OrchestrationFactoryProps } from './orchestration-factory/orchestration-factory';
import { MigrationPlan } from './plan/types';
import { applyStateBackend, StateBackend } from './state-backend';

/** Props of {@link DatabaseMigrationStack}. */
export interface DatabaseMigrationStackProps {
  /** The validated plan (`loadMigrationPlan` / `parseMigrationPlan`). */
  readonly plan: MigrationPlan;
  /**
   * Subscription to deploy into.
   * @default - from the environment (`ARM_SUBSCRIPTION_ID`, or the Azure CLI's current subscription)
   */
  readonly subscriptionId?: string;
  /**
   * Name of the resource group the stack creates for everything else.
   * @default `rg-<plan name>`
   */
  readonly resourceGroupName?: string;
  /**
   * A Log Analytics workspace the team already has; nothing is created in its place.
   * @default - creates `log-<plan name>`
   */
  readonly workspace?: ILogAnalyticsWorkspace;
  /**
   * `prevent_destroy` on the stateful resources (Key Vault, Log Analytics workspace). Turn off
   * only for a throwaway environment.
   * @default true
   */
  readonly protectStatefulResources?: boolean;
  /** Put `CanNotDelete` management locks on the Key Vault, the workspace and the DAG storage account. @default false */
  readonly lockStatefulResources?: boolean;
  /**
   * Create the Data Factory managed Airflow environment and import the DAG into it; turn off to
   * run the DAG elsewhere.
   * @default true (see `OrchestrationFactoryProps.managedAirflow`)
   */
  readonly managedAirflow?: boolean;
  /**
   * Where Terraform keeps the state: local, Terraform Cloud (`cloud` block with a named
   * workspace) or an Azure blob. `stateBackendFromEnvironment()` reads it from TFC_* variables.
   * @default { type: 'local' } (`terraform.<plan name>.tfstate`)
   */
  readonly stateBackend?: StateBackend;
  /**
   * Alert defaults, per-alert overrides (severity, threshold, timing, runbook) and alerts of one's own.
   * @default - the built-in alerts with their defaults
   */
  readonly monitoring?: MigrationMonitoringOptions;
  /** Fine-tuning of the orchestration side. @default - secure defaults */
  readonly orchestration?: Pick<OrchestrationFactoryProps, 'dagStorage' | 'publicNetworkEnabled' | 'keyVault' | 'deployerPrincipalId'>;
}

/**
 * Everything one migration plan needs in Azure, as one Terraform stack: the migration service,
 * the orchestration factory with its managed Airflow and DAG, monitoring on signals that exist,
 * and a custom role that lets the Airflow identity run the migrations and nothing else.
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
  /** The Data Factory with its integration runtime, Key Vault, DAG storage and managed Airflow. */
  public readonly orchestration: OrchestrationFactory;
  /** The custom role the Airflow identity runs migrations with. */
  public readonly operatorRole: MigrationOperatorRole;

  constructor(scope: Construct, id: string, props: DatabaseMigrationStackProps) {
    super(scope, id);
    const { plan } = props;
    this.plan = plan;
    const protect = props.protectStatefulResources ?? true;
    const lock = props.lockStatefulResources ?? false;
    const airflowPrincipalId = plan.airflow.servicePrincipal.objectId;
    const alerts = props.monitoring ?? {};

    new AzurermProvider(this, 'azurerm', {
      features: [{}],
      subscriptionId: props.subscriptionId,
      // The DAG storage account has shared keys off: blobs are uploaded with Entra ID.
      storageUseAzuread: true,
    });
    new AzapiProvider(this, 'azapi', { subscriptionId: props.subscriptionId });
    applyStateBackend(this, props.stateBackend ?? { type: 'local' });

    this.resourceGroup = new ResourceGroup(this, 'ResourceGroup', {
      name: props.resourceGroupName ?? resourceName('rg', plan.name),
      location: plan.location,
      tags: plan.tags,
    });

    this.migrationService = new MigrationService(this, 'MigrationService', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      tags: plan.tags,
    });

    this.monitoring = new MigrationMonitoring(this, 'Monitoring', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      tags: plan.tags,
      workspace: props.workspace,
      location: plan.location,
      emails: plan.notifications.emails,
      protectWorkspace: protect,
      workspaceLock: lock,
      alertDefaults: alerts.alertDefaults,
    });
    this.monitoring.monitorMigrationEvents({
      longRunningMinutes: plan.notifications.longRunningMinutes,
      migrationFailedAlert: alerts.migrationFailedAlert,
      migrationRunningLongAlert: alerts.migrationRunningLongAlert,
      migrationStalledAlert: alerts.migrationStalledAlert,
    });
    this.monitoring.grantEventPublisher('AirflowPublishesEvents', airflowPrincipalId);

    this.orchestration = new OrchestrationFactory(this, 'Orchestration', {
      ...props.orchestration,
      dagStorage: { ...props.orchestration?.dagStorage, lock: lock || props.orchestration?.dagStorage?.lock },
      resourceGroup: this.resourceGroup,
      plan,
      migrationService: this.migrationService,
      eventIngestion: this.monitoring.eventIngestion,
      protectKeyVault: protect,
      lockKeyVault: lock,
      managedAirflow: props.managedAirflow,
    });
    this.monitoring.monitorDataFactory(this.orchestration, {
      selfHostedIntegrationRuntimeName: this.orchestration.selfHostedRuntime.name,
      airflowIntegrationRuntimeName: this.orchestration.managedAirflow?.environmentName,
      selfHostedRuntimeOfflineAlert: alerts.selfHostedRuntimeOfflineAlert,
      airflowTaskFailuresAlert: alerts.airflowTaskFailuresAlert,
      airflowDagImportErrorsAlert: alerts.airflowDagImportErrorsAlert,
    });
    this.monitoring.monitorCustom(alerts.customAlerts ?? {});

    this.operatorRole = new MigrationOperatorRole(this, 'OperatorRole', {
      resourceGroup: this.resourceGroup,
      namePrefix: plan.name,
      migrationService: this.migrationService,
      targets: plan.targetServers.map((target) => ({ kind: target.kind, resourceId: target.resourceId })),
      // DMS stages SqlMi and SqlVm backups there; SqlDb migrations copy directly.
      backupStorageAccountId: plan.targetServers.some((target) => target.kind !== 'SqlDb')
        ? plan.backupStorage?.storageAccountResourceId
        : undefined,
    });
    this.operatorRole.grantTo('Airflow', airflowPrincipalId);
  }
}
