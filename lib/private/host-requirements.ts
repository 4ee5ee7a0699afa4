import type { AirflowHostKind } from '../hosts/airflow-host';
import { AIRFLOW3_REQUIREMENTS } from './dag-bundle-loader';

/**
 * The DAG's requirements for each host's Airflow and Python (files of the DAG package): Airflow 3
 * on the Kubernetes host and for an external Airflow; Fabric's 2.10.5 on Python 3.12; Data
 * Factory's 2.6.3 on Python 3.8, where `azure-mgmt-datamigration` cannot install.
 */
export const HOST_REQUIREMENTS = {
  /** Airflow 3.3 on Python 3.12, built into the image. */
  kubernetes: AIRFLOW3_REQUIREMENTS,
  /** Airflow 3.1 or later; the package also ships the 2.10.5 and 2.6.3 files for older Airflows. */
  external: AIRFLOW3_REQUIREMENTS,
  /** Airflow 2.10.5 on Python 3.12, in the job definition. */
  fabric: 'dags/requirements-fabric.txt',
  /** Airflow 2.6.3 on Python 3.8, installed by the DAG import. */
  dataFactory: 'dags/requirements-data-factory.txt',
} as const satisfies Readonly<Record<AirflowHostKind, string>>;

/**
 * What each host installs the DAG's requirements from: the bundle's `requirements` (the Kubernetes
 * host's image, the Fabric job's definition) or its `requirements.txt` (Data Factory's import). An
 * external Airflow installs what its team picks among the package's three files.
 */
export const HOST_INSTALLS_REQUIREMENTS_FROM: Readonly<Record<AirflowHostKind, 'requirements' | 'requirements.txt' | undefined>> = {
  kubernetes: 'requirements',
  fabric: 'requirements',
  dataFactory: 'requirements.txt',
  external: undefined,
};
