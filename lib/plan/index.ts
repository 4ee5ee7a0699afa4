/** The migration plan: load, validate, render, and the order in which databases migrate. */
export * from './types';
export { MigrationPlanError, type PlanProblem } from './errors';
export { parseMigrationPlan } from './parse';
export { loadMigrationPlan } from './load';
export { renderMigrationPlan } from './render';
export { migrationWaves, topologicalOrder } from './graph';
export { renderMermaidDiagram } from './diagram';
export { migrationPlanSchema, migrationPlanJsonSchema } from './schema';
