export * from './apache-airflow-job';
export * from './data-capacity';
export * from './provider';
export * from './workspace';
export * from './workspace-role-assignment';
