/**
 * What the Kubernetes host runs, pinned. The chart's values are checked against the schema
 * vendored in `vendor/airflow-chart/` (see its SOURCE.md for where it comes from).
 */
import { AIRFLOW_VERSION_OF_HOST } from '../airflow-versions';

/** The official Apache Airflow Helm chart (repository `https://airflow.apache.org`, chart `airflow`). */
export const AIRFLOW_CHART = {
  repository: 'https://airflow.apache.org',
  name: 'airflow',
  // 1.22.0 (in the repository's index since 2026-06-04, apache/airflow-site#1554) is the newest 1.x
  // release; it defaults to Airflow 3.2.2 and runs 3.3.x images. The host's `workers.replicas`,
  // `workers.labels` and `workers.serviceAccount` are deprecated for `workers.celery.*` and
  // `workers.kubernetes.*` (chart newsfragments 59730, 65030, 64730), and chart 2.0 removes them
  // (66671): a move to 2.x moves them.
  version: '1.22.0',
} as const;

/** Apache Airflow on this host (PyPI `apache-airflow`, image `apache/airflow`). */
export const AIRFLOW_VERSION = AIRFLOW_VERSION_OF_HOST.kubernetes;

/** Python of the Airflow image: the tag names it, so a new Airflow default never changes it silently. */
export const AIRFLOW_PYTHON_VERSION = '3.12';

/** The image the DAG's requirements are installed on. */
export const AIRFLOW_BASE_IMAGE = `apache/airflow:${AIRFLOW_VERSION}-python${AIRFLOW_PYTHON_VERSION}`;
