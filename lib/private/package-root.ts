import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/** The DAG file whose folder marks the DAG package inside this library's install. */
export const DAG_ENTRY = join('dags', 'migration_orchestration.py');
const PACKAGE_NAME = '@platform/azure-db-migration';
/** The JSON contracts the DAG and this library share (`<name>.json`). */
const CONTRACTS_FOLDER = join('dags', 'migration_orchestration_lib', 'contracts');

const contracts = new Map<string, unknown>();

/** A contract file as parsed JSON, read once per process (every construct and stack of an app shares it). */
export function readContract(name: string, packageRoot: string = findPackageRoot()): { path: string; document: unknown } {
  const path = join(packageRoot, CONTRACTS_FOLDER, name);
  if (!contracts.has(path)) contracts.set(path, JSON.parse(readFileSync(path, 'utf8')));
  return { path, document: contracts.get(path) };
}

/**
 * The nearest folder above this file that holds the DAG package: found from this file's location,
 * so it works from the source tree, from `dist/` and from `node_modules`, whatever the working directory.
 */
export function findPackageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, DAG_ENTRY)) && isThisPackage(dir)) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${DAG_ENTRY} in any folder above ${start}: ${whyNotFound(start)}`);
    }
    dir = parent;
  }
}

/**
 * The library reads the DAG files it deploys from its own folder. Code of an installed copy runs
 * under `node_modules/<name>/`, so not finding them there is an incomplete install; code running
 * anywhere else was copied out of the package, by a bundler that inlined it into an app.
 */
function whyNotFound(start: string): string {
  const installed = join('node_modules', ...PACKAGE_NAME.split('/'));
  if (`${start}${sep}`.includes(`${sep}${installed}${sep}`)) return 'the package is incomplete: install it again';
  return (
    `${PACKAGE_NAME} runs outside its package folder, as when a bundler (esbuild, webpack, ncc) inlines it into an app, ` +
    `and its DAG files stay behind: keep ${PACKAGE_NAME} external to the bundle (esbuild --external:${PACKAGE_NAME})`
  );
}

/** Only our own package root counts: a consumer's project may hold a DAG of the same name. */
function isThisPackage(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}
