/**
 * Field paths inside plan documents for the property tests: walk, read, write and name them the
 * way problems do. The field tables are the plan's documented shape (docs/migration-plan.md),
 * written out again so the tests do not take the schema's word for what a field is.
 */

export type Segment = string | number;
export type FieldPath = readonly Segment[];

/** Fields each object of the plan may have, by its shape (`databases[].target`). */
export const KNOWN_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': [
    'name',
    'location',
    'tags',
    'notifications',
    'airflow',
    'concurrency',
    'cutover',
    'sourceServers',
    'targetServers',
    'backupStorage',
    'databases',
  ],
  notifications: ['emails', 'longRunningMinutes'],
  concurrency: ['maxMigrationsPerService', 'maxMigrationsPerSourceServer', 'maxSqlStepsPerRuntime'],
  airflow: ['host', 'sqlAccess', 'kubernetes', 'dataFactory', 'fabric', 'external'],
  'airflow.kubernetes': [
    'subnetId',
    'databaseSubnetId',
    'privateEndpointSubnetId',
    'nodeVmSize',
    'minNodes',
    'maxNodes',
    'executor',
    'authorizedIpRanges',
    'adminGroupObjectIds',
    'secretRotation',
  ],
  'sourceServers[]': [
    'name',
    'host',
    'port',
    'authentication',
    'connectionId',
    'connectionStringSecretName',
    'backupFileShare',
  ],
  'sourceServers[].backupFileShare': ['path', 'connectionId'],
  'targetServers[]': ['name', 'kind', 'resourceId', 'connectionId'],
  backupStorage: ['storageAccountResourceId', 'connectionId'],
  'databases[]': [
    'name',
    'source',
    'target',
    'mode',
    'sourceFreeze',
    'allowSourceWritesDuringCopy',
    'dependsOn',
    'validation',
    'timeoutMinutes',
    'cutover',
  ],
  'databases[].source': ['server', 'database'],
  'databases[].target': ['server', 'database', 'kind'],
  'databases[].validation': ['rowCounts', 'checksums', 'tables'],
};

/** Fields without a default, whatever the rest of the plan says. */
export const REQUIRED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': ['name', 'location', 'notifications', 'sourceServers', 'targetServers', 'databases'],
  notifications: ['emails'],
  'sourceServers[]': ['name', 'host'],
  'sourceServers[].backupFileShare': ['path', 'connectionId'],
  'targetServers[]': ['name', 'kind', 'resourceId'],
  backupStorage: ['storageAccountResourceId', 'connectionId'],
  'databases[]': ['name', 'source', 'target'],
  'databases[].source': ['server', 'database'],
  'databases[].target': ['server'],
};

/** `databases[3].target` -> `databases[].target`: which kind of object a path points at. */
export function shapeOf(path: FieldPath): string {
  let shape = '';
  for (const segment of path) {
    if (typeof segment === 'number') shape += '[]';
    else shape += shape === '' ? segment : `.${segment}`;
  }
  return shape;
}

/** Every value below the root with its path, parents before children. */
export function allPaths(root: unknown): { path: FieldPath; value: unknown }[] {
  const found: { path: FieldPath; value: unknown }[] = [];
  const visit = (value: unknown, path: Segment[]) => {
    if (path.length > 0) found.push({ path, value });
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, [...path, i]));
    else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) visit((value as Record<string, unknown>)[key], [...path, key]);
    }
  };
  visit(root, []);
  return found;
}

export function getAt(root: unknown, path: FieldPath): unknown {
  return path.reduce<any>((node, segment) => node?.[segment], root);
}

/** Sets (or, with `remove`, deletes) the field; an own property even for `__proto__`. */
export function setAt(root: unknown, path: FieldPath, value: unknown, remove = false): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<PropertyKey, unknown>;
  const key = path[path.length - 1];
  if (remove) delete parent[key];
  else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A JSON-shaped copy; keeps `__proto__` keys as own properties, as JSON.parse does. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The path as problems print it (documented in PlanProblem): `databases[2].dependsOn[0]`,
 * `tags["cost-center"]`, keys over 60 characters cut with an ellipsis, characters that do not show escaped.
 */
export function printedPath(path: FieldPath): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment) && segment.length <= 60) return i === 0 ? segment : `.${segment}`;
      const shown = segment.length > 60 ? `${segment.slice(0, 59)}…` : segment;
      // Characters that do not show (no-break and zero-width spaces, controls JSON leaves as they are) as \uXXXX.
      const escaped = JSON.stringify(shown).replace(/(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}]/gu, (char) => {
        const code = char.codePointAt(0)!;
        return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
      });
      return `[${escaped}]`;
    })
    .join('');
}

/** True when `candidate` is `path` itself or one of its parents (the root excluded). */
export function isSelfOrParent(candidate: string, path: string): boolean {
  return (
    candidate !== '' && (candidate === path || path.startsWith(`${candidate}.`) || path.startsWith(`${candidate}[`))
  );
}

/** Every string value of the document. */
export function stringFields(document: unknown): FieldPath[] {
  return allPaths(document)
    .filter(({ value }) => typeof value === 'string')
    .map(({ path }) => path);
}

/** Fields whose value others refer to by name, with how to rename those references. */
const RENAME_REFERENCES: Readonly<Record<string, (document: any, from: string, to: string) => void>> = {
  'databases[].name': (document, from, to) => {
    for (const db of document.databases) {
      if (db.dependsOn !== undefined) db.dependsOn = db.dependsOn.map((dep: string) => (dep === from ? to : dep));
    }
  },
  'sourceServers[].name': (document, from, to) => {
    for (const db of document.databases) if (db.source.server === from) db.source.server = to;
  },
  'targetServers[].name': (document, from, to) => {
    for (const db of document.databases) if (db.target.server === from) db.target.server = to;
  },
};

/** A copy with `value` at `path`; a renamed database or server keeps its references. */
export function withString(document: unknown, path: FieldPath, value: string): any {
  const copy = clone(document);
  RENAME_REFERENCES[shapeOf(path)]?.(copy, getAt(copy, path) as string, value);
  setAt(copy, path, value);
  return copy;
}
