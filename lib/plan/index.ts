/** The migration plan: load, validate, render, and the order in which databases migrate. */
export type {
  AirflowServicePrincipal,
  AirflowSettings,
  DataFactoryHostSettings,
  ExternalHostSettings,
  FabricHostSettings,
  FederatedCredential,
  KubernetesHostSettings,
} from './airflow-schema';
export type {
  CutoverApproval,
  CutoverSettings,
  CutoverWindow,
  DatedCutoverWindow,
  WeeklyCutoverWindow,
} from './cutover-schema';
export type {
  BackupFileShare,
  BackupStorage,
  DatabaseMigration,
  DatabaseSource,
  DatabaseTarget,
  MigrationMode,
  MigrationPlan,
  NotificationSettings,
  SourceServer,
  SqlAuthentication,
  TargetKind,
  TargetServer,
  ValidationSettings,
} from './types';
export { MigrationPlanError, type PlanProblem } from './errors';
export { parseMigrationPlan } from './parse';
export { loadMigrationPlan } from './load';
export { renderMigrationPlan } from './render';
export { migrationWaves, topologicalOrder } from './graph';
export { renderMermaidDiagram } from './diagram';
export { migrationPlanSchema, migrationPlanJsonSchema } from './schema';
