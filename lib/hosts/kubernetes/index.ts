/** The Kubernetes Airflow host: what a stack (or a team using it alone) imports. */
export { KubernetesAirflowHost } from './kubernetes-host';
export type { KubernetesAirflowHostProps } from './kubernetes-host';
export type { AirflowExecutor, AirflowChartValues } from './chart-values';
export type { KubeloginMode } from './kube-providers';
export { AIRFLOW_CHART, AIRFLOW_VERSION, AIRFLOW_BASE_IMAGE } from './versions';
