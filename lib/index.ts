export * from './plan';
export * from './core/references';
export * from './azapi';
export * from './migration-service';
export * from './migration-operator-role';
export * from './orchestration-factory';
export * from './monitoring';
export * from './database-migration-stack';
