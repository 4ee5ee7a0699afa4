export * from './credential-vault';
export * from './dag-bundle';
export * from './dag-storage';
export * from './managed-airflow';
export * from './orchestration-factory';
