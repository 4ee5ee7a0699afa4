/** The migration plan: load, validate, render, and the order in which databases migrate. */
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
  SourceServer,
  SqlAuthentication,
  TargetKind,
  TargetServer,
  ValidationSettings,
  WeeklyCutoverWindow,
} from './types';
export { MigrationPlanError, type PlanProblem } from './errors';
export { parseMigrationPlan } from './parse';
export { loadMigrationPlan } from './load';
export { renderMigrationPlan } from './render';
export { migrationWaves, topologicalOrder } from './graph';
export { renderMermaidDiagram } from './diagram';
export { migrationPlanSchema, migrationPlanJsonSchema } from './schema';
