import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** The DAG file whose folder marks the DAG package inside this library's install. */
const DAG_ENTRY = join('dags', 'migration_orchestration.py');
const DAG_LIBRARY_FOLDER = join('dags', 'migration_orchestration_lib');
/** The DAG's requirements for Airflow 3 (the Kubernetes host's image, an external Airflow 3). */
export const AIRFLOW3_REQUIREMENTS = 'dags/requirements.txt';
const PLAN_SCHEMA = join('schema', 'migration-plan.schema.json');
const PACKAGE_NAME = '@platform/azure-db-migration';

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
  /** Every file to upload: the DAG, its library, the rendered plan, its JSON Schema and `requirements.txt`. */
  readonly files: readonly DagBundleFile[];
  /** Pinned pip requirements of the DAG for the host's Airflow (from the requirements file given to {@link loadDagBundle}). */
  readonly requirements: readonly string[];
  /** SHA-256 over every file: changes whenever anything uploaded changes. */
  readonly contentHash: string;
}

/** Blob name of the rendered plan, beside the DAG file where the DAG looks for it. */
export const PLAN_BLOB_NAME = 'dags/migration_plan.json';

/** Blob name of the plan's JSON Schema, beside the plan: the DAG validates the plan against it. */
export const PLAN_SCHEMA_BLOB_NAME = 'dags/migration_plan.schema.json';

/**
 * Reads the DAG package shipped with this library (found from this file's location, so it
 * works from the source tree, from `dist/` and from `node_modules`, whatever the working
 * directory) and adds the rendered plan. Tests and `__pycache__` are never uploaded.
 *
 * @param requirementsFile the DAG's requirements for the host's Airflow and Python, relative to the
 *   package root; it is bundled as `requirements.txt` (Data Factory's import installs that file)
 */
export function loadDagBundle(
  renderedPlan: string,
  packageRoot: string = findPackageRoot(),
  requirementsFile: string = AIRFLOW3_REQUIREMENTS,
): DagBundle {
  const libraryFiles = [join(packageRoot, DAG_ENTRY), ...listLibraryFiles(join(packageRoot, DAG_LIBRARY_FOLDER))];
  const requirementsText = readFileSync(join(packageRoot, ...requirementsFile.split('/')), 'utf8');
  const files = [
    ...libraryFiles.map((path) => bundleFile(toBlobName(packageRoot, path), readFileSync(path, 'utf8'), contentTypeOf(path))),
    bundleFile(PLAN_BLOB_NAME, renderedPlan, 'application/json'),
    bundleFile(PLAN_SCHEMA_BLOB_NAME, readFileSync(join(packageRoot, PLAN_SCHEMA), 'utf8'), 'application/json'),
    // Data Factory's import reads requirements.txt at the root of the imported folder.
    bundleFile('requirements.txt', requirementsText, 'text/plain'),
  ];
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file.blobName).update('\0').update(file.content).update('\0');
  }
  return { files, requirements: parseRequirements(requirementsText), contentHash: hash.digest('hex') };
}

/** Requirement lines without comments, blanks or pip options. */
export function parseRequirements(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('-'));
}

/** The nearest folder above this file that holds the DAG package. */
export function findPackageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, DAG_ENTRY)) && isThisPackage(dir)) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${DAG_ENTRY} in any folder above ${start}: the package is incomplete`);
    }
    dir = parent;
  }
}

/** Only our own package root counts: a consumer's project may hold a DAG of the same name. */
function isThisPackage(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The library's Python modules and the JSON contracts they read (`contracts/*.json`). */
function listLibraryFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && (entry.name.endsWith('.py') || entry.name.endsWith('.json')))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.split(sep).includes('__pycache__') && !path.split(sep).includes('tests'))
    .sort();
}

function contentTypeOf(path: string): string {
  return path.endsWith('.json') ? 'application/json' : 'text/x-python';
}

function toBlobName(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

function bundleFile(blobName: string, content: string, contentType: string): DagBundleFile {
  return { blobName, content, contentType, contentMd5: createHash('md5').update(content).digest('hex') };
}
