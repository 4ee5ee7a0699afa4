export * from './credential-vault';
export * from './dag-bundle';
export * from './dag-storage';
export * from './orchestration-factory';
