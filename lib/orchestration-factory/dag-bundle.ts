import { renderMigrationPlan } from '../plan/render';
import { MigrationPlan } from '../plan/types';
import { loadDagBundle } from '../private/dag-bundle-loader';
import { HOST_REQUIREMENTS } from '../private/host-requirements';

/** One file to upload, with its path inside the DAG container. */
export interface DagBundleFile {
  /** Blob name, `/`-separated (for example `dags/migration_orchestration.py`). */
  readonly blobName: string;
  /** File content (UTF-8 text). */
  readonly content: string;
  /** Hex MD5 of the content: Terraform replaces the blob when it changes. */
  readonly contentMd5: string;
  /** MIME type of the blob, for example `text/x-python`. */
  readonly contentType: string;
}

/** What a host receives: DAG code, the rendered plan, its schema and the requirements for that host's Airflow. */
export interface DagBundle {
  /**
   * Every file to upload: the DAG, its library, the rendered plan, its JSON Schema, the manifest of these
   * (`dags/migration_bundle_manifest.json`, their SHA-256: the DAG refuses to import a folder whose files
   * differ from it), `.airflowignore` and `requirements.txt`.
   */
  readonly files: readonly DagBundleFile[];
  /** Pinned pip requirements of the DAG for the host's Airflow. */
  readonly requirements: readonly string[];
  /** SHA-256 over every file: changes whenever anything uploaded changes. */
  readonly contentHash: string;
}

/**
 * The DAG package shipped with this library, the rendered plan (and its schema), and the
 * requirements file of the plan's host (Airflow 3; Fabric's 2.10.5; Data Factory's 2.6.3 on Python 3.8).
 */
export function dagBundleFor(plan: MigrationPlan): DagBundle {
  return loadDagBundle(renderMigrationPlan(plan), undefined, HOST_REQUIREMENTS[plan.airflow.host]);
}
