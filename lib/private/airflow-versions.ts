/**
 * The Apache Airflow each host runs: pinned by this library on Kubernetes, fixed by Microsoft for
 * an existing Data Factory environment and for Fabric Apache Airflow jobs (shared/azure-facts.md).
 * An external Airflow is the team's: 3.1 or later, 2.10.5 or 2.6.3 (the DAG refuses 3.0 at import).
 */
export const AIRFLOW_VERSION_OF_HOST = {
  kubernetes: '3.3.2',
  dataFactory: '2.6.3',
  fabric: '2.10.5',
} as const;

/** Whether `version` (major.minor[.patch]) is at least `major.minor`. */
export function airflowAtLeast(version: string, major: number, minor: number): boolean {
  const [have, haveMinor] = version.split('.').map(Number);
  return have > major || (have === major && haveMinor >= minor);
}
