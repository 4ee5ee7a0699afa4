/**
 * The public API, named one by one: what a team needs to deploy a migration plan, or to use the
 * constructs in its own stacks. Helpers live in `lib/private/` and are not exported.
 */

// The migration plan: load, validate, render, order, draw.
export {
  loadMigrationPlan,
  migrationPlanJsonSchema,
  migrationPlanSchema,
  MigrationPlanError,
  migrationWaves,
  parseMigrationPlan,
  renderMermaidDiagram,
  renderMigrationPlan,
  topologicalOrder,
} from './plan';
export type {
  AirflowServicePrincipal,
  AirflowSettings,
  BackupFileShare,
  BackupStorage,
  CutoverApproval,
  CutoverSettings,
  CutoverWindow,
  DatabaseMigration,
  DatabaseSource,
  DatabaseTarget,
  DataFactoryHostSettings,
  DatedCutoverWindow,
  ExternalHostSettings,
  FabricHostSettings,
  FederatedCredential,
  KubernetesHostSettings,
  MigrationMode,
  MigrationPlan,
  NotificationSettings,
  PlanProblem,
  SourceServer,
  SqlAuthentication,
  TargetKind,
  TargetServer,
  ValidationSettings,
  WeeklyCutoverWindow,
} from './plan';

// The stack of one plan, the second stack of the Kubernetes host, and where they keep their state.
export { DatabaseMigrationStack } from './database-migration-stack';
export type { DatabaseMigrationStackProps } from './database-migration-stack';
export { ReleaseStack } from './release-stack';
export type { ReleaseStackProps } from './release-stack';
export { StateBackendConfigurationError, stateBackendFromEnvironment } from './state-backend';
export type { AzurermStateBackend, LocalStateBackend, StateBackend, TerraformCloudStateBackend } from './state-backend';
export { deployerPrincipalIdFromEnvironment } from './deployer-principal';

// An app's main.ts: its synth, written whole or not at all, its mistakes without a stack trace (as npm run synth).
export { synthesizeApp } from './synthesize-app';
export type { SynthesizeAppOptions } from './synthesize-app';

// The shared vocabulary: references to resources, protection, grants, warnings meant on purpose.
export type { IActionGroup, IDataFactory, IEventIngestion, IKeyVault, ILogAnalyticsWorkspace, IResourceGroup } from './core/references';
export type { LockKind, ResourceLock } from './core/protection';
export type { GrantOptions, IGrantee, PrincipalType } from './core/grants';
export { acknowledgeWarnings, WARNING_IDS } from './core/warnings';
export type { WarningId } from './core/warnings';

// The constructs.
export { MigrationService } from './migration-service';
export type { IMigrationService, MigrationServiceProps } from './migration-service';
export { MigrationOperatorRole } from './migration-operator-role';
export type { MigrationOperatorRoleProps, MigrationTargetRef } from './migration-operator-role';
export { OrchestrationFactory } from './orchestration-factory/orchestration-factory';
export type { OrchestrationFactoryProps } from './orchestration-factory/orchestration-factory';
export { CredentialVault, grantReadSecrets } from './orchestration-factory/credential-vault';
export type { CredentialVaultProps } from './orchestration-factory/credential-vault';
export { SqlPipelines } from './orchestration-factory/sql-pipelines';
export type { FactoryResourceJson, SqlPipelineDefinitions, SqlPipelinesProps, SqlPipelineTarget } from './orchestration-factory/sql-pipelines';
export { DagStorage } from './orchestration-factory/dag-storage';
export type { DagStorageProps } from './orchestration-factory/dag-storage';
export { dagBundleFor } from './orchestration-factory/dag-bundle';
export type { DagBundle, DagBundleFile } from './orchestration-factory/dag-bundle';

// Where the DAG runs: the host interface, one construct per host, and what every host is given.
export type { AirflowHostBaseProps, AirflowHostKind, AirflowIdentity, AirflowPool, IAirflowHost, SqlAccessKind } from './hosts/airflow-host';
export { airflowPools } from './hosts/airflow-pools';
export { dagEnvironment } from './hosts/dag-environment';
export type { DagEnvironmentProps } from './hosts/dag-environment';
export { HostDagStorage } from './hosts/host-dag-storage';
export type { DagStorageSettings, HostDagStorageProps } from './hosts/host-dag-storage';
export { KUBELOGIN_MODES, kubeloginModeFromEnvironment, KubernetesAirflowHost } from './hosts/kubernetes/kubernetes-host';
export type { AirflowExecutor, KubeloginMode, KubernetesAirflowHostProps } from './hosts/kubernetes/kubernetes-host';
export { SIGN_IN_ROLES } from './hosts/kubernetes/kubernetes-sign-in';
export type { KubernetesSignIn, SignInRole, SignInRoles } from './hosts/kubernetes/kubernetes-sign-in';
export { DataFactoryAirflowHost } from './hosts/data-factory-host';
export type { AirflowAlertOptions, DataFactoryAirflowHostProps, DataFactoryEnvironment } from './hosts/data-factory-host';
export { FabricAirflowHost } from './hosts/fabric/fabric-airflow-host';
export type {
  FabricAirflowHostProps,
  FabricCapacitySettings,
  FabricCapacitySku,
  FabricComputeSize,
  FabricWorkspaceMember,
} from './hosts/fabric/fabric-airflow-host';
export { ExternalAirflowHost } from './hosts/external-host';
export type { ExternalAirflowHostProps } from './hosts/external-host';

// Monitoring: the facade, its options, the alerts users pass and get back, the events they query.
export { MigrationMonitoring } from './monitoring/migration-monitoring';
export type { MigrationMonitoringOptions, MigrationMonitoringProps } from './monitoring/migration-monitoring';
export type { MonitoringWorkspaceOptions } from './monitoring/monitoring-workspace';
export type { ActionGroupOptions } from './monitoring/action-group';
export type { MigrationEventsMonitoringProps, MigrationStalledAlertOptions, SourceFrozenTooLongAlertOptions } from './monitoring/migration-events-monitoring';
export type { SourceFreezeLimits, SourceFreezeSettings } from './monitoring/source-frozen';
export type { DataFactoryMonitoringProps } from './monitoring/data-factory-monitoring';
export type { KeyVaultMonitoringProps } from './monitoring/key-vault-monitoring';
export type { BackupStorageMonitoringProps } from './monitoring/storage-monitoring';
export type { KubernetesClusterMonitoringProps } from './monitoring/kubernetes-cluster-monitoring';
export type {
  DataFactoryAirflowEnvironment,
  DataFactoryAirflowMonitoring,
  DataFactoryAirflowMonitoringProps,
} from './monitoring/data-factory-airflow-monitoring';
export type { KubernetesAirflowMonitoring, KubernetesAirflowMonitoringProps, KubernetesAirflowScheduler } from './monitoring/kubernetes-airflow-monitoring';
export { AlertSeverity } from './monitoring/alerts';
export type { AlertDefaults, AlertDimension, AlertOptions, CreatedAlert, CreatedLogAlert, CreatedMetricAlert, CreatedPrometheusAlert } from './monitoring/alerts';
export type { AirflowPrometheusAlertOptions, PrometheusAlertOptions, PrometheusRuleGroupMaker } from './monitoring/airflow-prometheus-alerts';
export type { CustomAlertProps, CustomLogAlertProps, CustomMetricAlertProps } from './monitoring/custom-alerts';
export { MigrationEventIngestion } from './monitoring/migration-event-ingestion';
export type { MigrationEventIngestionProps, MigrationEventsTable } from './monitoring/migration-event-ingestion';
export {
  MIGRATION_EVENTS_TABLE,
  migrationFailedQuery,
  MigrationPhase,
  migrationRunningLongQuery,
  MigrationStatus,
  rollbackFailedQuery,
} from './monitoring/migration-events';
export { migrationStalledQuery } from './monitoring/migration-stalled';
export { sourceFrozenTooLongQuery } from './monitoring/source-frozen';
export { cutoverAwaitingApprovalQuery, cutoverPostponedQuery } from './monitoring/cutover-alerts';
export { DATA_FACTORY_METRIC_NAMESPACE, DataFactoryMetric } from './monitoring/data-factory-signals';

// Typed bindings of providers without prebuilt cdktf packages (AzAPI, Microsoft Fabric).
export { AzapiProvider } from './azapi/provider';
export type { AzapiProviderConfig } from './azapi/provider';
export { AzapiResource } from './azapi/resource';
export type { AzapiBody, AzapiResourceConfig, AzapiResourceIdentity } from './azapi/resource';
export { AzapiResourceAction } from './azapi/resource-action';
export type { AzapiActionArguments, AzapiResourceActionConfig } from './azapi/resource-action';
export { DataAzapiResourceAction } from './azapi/resource-action-data-source';
export type { DataAzapiResourceActionConfig } from './azapi/resource-action-data-source';
export { FabricProvider } from './fabric/provider';
export type { FabricProviderConfig } from './fabric/provider';
export { FabricWorkspace } from './fabric/workspace';
export type { FabricWorkspaceConfig } from './fabric/workspace';
export { APACHE_AIRFLOW_JOB_CONTENT_PART, FabricApacheAirflowJob } from './fabric/apache-airflow-job';
export type { FabricApacheAirflowJobConfig, FabricDefinitionPart } from './fabric/apache-airflow-job';
export { FabricWorkspaceRoleAssignment } from './fabric/workspace-role-assignment';
export type { FabricPrincipalType, FabricWorkspaceRole, FabricWorkspaceRoleAssignmentConfig } from './fabric/workspace-role-assignment';
export { DataFabricCapacity } from './fabric/data-capacity';
export type { DataFabricCapacityConfig } from './fabric/data-capacity';
