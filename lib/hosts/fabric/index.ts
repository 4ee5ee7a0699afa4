export * from './airflow-job-content';
export * from './dag-files-upload';
export * from './fabric-airflow-host';
export { FABRIC_AIRFLOW_CAPACITY_SKUS } from './fabric-capacity';
export type { FabricCapacitySettings, FabricCapacitySku } from './fabric-capacity';
