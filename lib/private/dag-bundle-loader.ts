import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DagBundle, DagBundleFile } from '../orchestration-factory/dag-bundle';
import { DAG_ENTRY, findPackageRoot } from './package-root';
import { md5Hex, sha256After, sha256Hex } from './text-digests';

const DAG_LIBRARY_FOLDER = join('dags', 'migration_orchestration_lib');
/** The DAG's requirements for Airflow 3 (the Kubernetes host's image, an external Airflow 3). */
export const AIRFLOW3_REQUIREMENTS = 'dags/requirements.txt';
const PLAN_SCHEMA = join('schema', 'migration-plan.schema.json');
const DEPLOYED_AIRFLOWIGNORE = join('dags', 'deployed.airflowignore');

/** Blob name of the DAG folder's ignore file: the DAG processor skips the library's modules. */
export const AIRFLOWIGNORE_BLOB_NAME = 'dags/.airflowignore';

/** Blob name of the rendered plan, beside the DAG file where the DAG looks for it. */
export const PLAN_BLOB_NAME = 'dags/migration_plan.json';

/** Blob name of the plan's JSON Schema, beside the plan: the DAG validates the plan against it. */
export const PLAN_SCHEMA_BLOB_NAME = 'dags/migration_plan.schema.json';

/**
 * Blob name of the bundle's manifest, beside the DAG file: the SHA-256 of the DAG file, its library, the
 * plan and its schema, which the DAG checks the folder against when it is imported
 * (`migration_orchestration_lib/bundle_manifest.py`), so that a folder mixing two bundles' files
 * (an upload that stopped midway) refuses to import.
 */
export const BUNDLE_MANIFEST_BLOB_NAME = 'dags/migration_bundle_manifest.json';

/** The bundle's DAG folder: every host puts the files under it there, by their path below it. */
export const DAG_FOLDER_PREFIX = 'dags/';

/** Blob name of the DAG file, which the host's DAG processor imports. */
export const DAG_BLOB_NAME = DAG_ENTRY.split(sep).join('/');

/** Blob name of the requirements at the root of the bundle (Data Factory's import installs it). */
export const REQUIREMENTS_BLOB_NAME = 'requirements.txt';

/**
 * Reads the DAG package shipped with this library (see `findPackageRoot`) and adds the rendered
 * plan. Tests and `__pycache__` are never uploaded.
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
  const requirementsText = readRequirementsFile(requirementsFile, packageRoot);
  const dagFolderFiles = [
    ...libraryFiles.map((path) => bundleFile(toBlobName(packageRoot, path), readFileSync(path, 'utf8'), contentTypeOf(path))),
    bundleFile(PLAN_BLOB_NAME, renderedPlan, 'application/json'),
    bundleFile(PLAN_SCHEMA_BLOB_NAME, readFileSync(join(packageRoot, PLAN_SCHEMA), 'utf8'), 'application/json'),
  ];
  const files = [
    ...dagFolderFiles,
    bundleFile(BUNDLE_MANIFEST_BLOB_NAME, bundleManifest(dagFolderFiles), 'application/json'),
    // Not in the manifest: the Fabric host does not upload it, and it only spares the DAG processor work.
    bundleFile(AIRFLOWIGNORE_BLOB_NAME, readFileSync(join(packageRoot, DEPLOYED_AIRFLOWIGNORE), 'utf8'), 'text/plain'),
    // Data Factory's import reads requirements.txt at the root of the imported folder.
    bundleFile(REQUIREMENTS_BLOB_NAME, requirementsText, 'text/plain'),
  ];
  // The library's files come first: their part of the hash is remembered (text-digests.ts).
  const hash = sha256After(files.slice(0, libraryFiles.length).map((file) => ({ name: file.blobName, text: file.content })));
  for (const file of files.slice(libraryFiles.length)) {
    hash.update(file.blobName).update('\0').update(file.content).update('\0');
  }
  return { files, requirements: parseRequirements(requirementsText), contentHash: hash.digest('hex') };
}

/**
 * The manifest of the files every host puts in the DAG folder: their paths below it (`migration_plan.json`,
 * `migration_orchestration_lib/steps.py`) and the SHA-256 of their UTF-8 bytes, as the DAG reads them.
 * Not `.airflowignore` (the Fabric host leaves it out) nor `requirements.txt` (outside the DAG folder).
 */
function bundleManifest(dagFolderFiles: readonly DagBundleFile[]): string {
  const hashes = Object.fromEntries(
    dagFolderFiles.map((file) => {
      if (!file.blobName.startsWith(DAG_FOLDER_PREFIX)) throw new Error(`${file.blobName} is not under ${DAG_FOLDER_PREFIX}`);
      return [file.blobName.slice(DAG_FOLDER_PREFIX.length), sha256Hex(file.content)];
    }),
  );
  const manifest = {
    description:
      'The files of this DAG bundle and their SHA-256. The DAG refuses to import while a file listed here differs or is missing: ' +
      'the folder then mixes two bundles (an upload that stopped midway). Files not listed are not checked.',
    files: hashes,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Blob names of the DAG's library as this package ships it: the modules the DAG file imports, and their contracts. */
export function dagLibraryBlobNames(packageRoot: string = findPackageRoot()): string[] {
  return listLibraryFiles(join(packageRoot, DAG_LIBRARY_FOLDER)).map((path) => toBlobName(packageRoot, path));
}

/** A requirements file of the DAG package (`dags/requirements-fabric.txt`), as text. */
export function readRequirementsFile(requirementsFile: string, packageRoot: string = findPackageRoot()): string {
  return readFileSync(join(packageRoot, ...requirementsFile.split('/')), 'utf8');
}

/**
 * The package a requirement line names, normalized as pip compares names (PEP 503): `azure-mgmt-core`
 * for `Azure_Mgmt_Core==1.5` or `azure-mgmt-core @ https://...`; for a URL or path, the name of the
 * wheel or source archive it ends in, or its `#egg=`; undefined where the line does not tell.
 */
export function requirementName(line: string): string | undefined {
  const text = line.trim();
  const location = /^[a-z][a-z0-9+.-]*:\/\/|^[./~]/i.test(text) ? text : undefined;
  const name = location
    ? (/#egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(location)?.[1] ??
      /([A-Za-z0-9][A-Za-z0-9._]*)-[0-9][^/]*\.(?:whl|tar\.gz|zip)(?:[?#].*)?$/.exec(location)?.[1])
    : /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(text)?.[0];
  return name?.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Requirement lines without comments, blanks or pip options. */
export function parseRequirements(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('-'));
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
  return { blobName, content, contentType, contentMd5: md5Hex(content) };
}
