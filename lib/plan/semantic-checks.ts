/**
 * Rules that span fields: unique names, references between databases and servers, target kinds
 * against modes and backups, dependencies and cycles. They run even when parts of the document
 * have the wrong shape (so one pass reports everything), which is why they read the value
 * defensively instead of trusting its type.
 */
import type { z } from 'zod';
import { formatFieldPath, quote, showName } from './field-path';
import { findDependencyCycles, formatCycle } from './graph';
import {
  BACKUP_RESTORE_KINDS,
  defaultConnectionId,
  defaultConnectionStringSecretName,
  MAX_PIPELINE_CONCURRENCY,
  TARGET_KINDS,
  TARGET_RESOURCE_ID,
} from './rules';
import { closestMatch, listBriefly } from './suggest';

type Path = readonly (string | number)[];
export type ReportProblem = (path: Path, message: string) => void;

/** Problems reported as custom issues of a zod refinement, under the refined value's path. */
export const reportTo =
  (context: z.RefinementCtx): ReportProblem =>
  (path, message) =>
    context.addIssue({ code: 'custom', path: [...path], message });

export type Loose = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : undefined;
}
export const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const asString = (value: unknown) => (typeof value === 'string' ? value : undefined);
const asTargetKind = (value: unknown) => TARGET_KINDS.find((kind) => kind === value);

/** For finding repeats: `earlier(key, value)` gives what `key` came with first, remembering `value` if nothing. */
export function firstSeen<V>(): (key: string, value: V) => V | undefined {
  const seen = new Map<string, V>();
  return (key, value) => seen.get(key) ?? (seen.set(key, value), undefined);
}

/** SQL Server and Azure SQL compare database names without case (usual collations) and trailing spaces. */
const sameSqlName = (name: string) => name.toLowerCase().trimEnd();

type NamedEntry = { readonly index: number; readonly entry: Loose };
type NamedEntries = ReturnType<typeof namedEntries>;

export function checkPlanSemantics(value: unknown, report: ReportProblem): void {
  const plan = asRecord(value);
  if (plan === undefined) return;

  const sourceServers = namedEntries(plan, 'sourceServers', 'source server', report);
  const targetServers = namedEntries(plan, 'targetServers', 'target server', report);
  const databases = namedEntries(plan, 'databases', 'database', report);
  onePerServer(plan, 'sourceServers', 'host', sourceServerIdentity, {
    same: 'names the same SQL Server as',
    why: 'the DAG counts concurrency per entry until a preflight reads which server the entry reaches, and a database under both would be refused only at its second preflight',
  }, report);
  const targetIdentity = (entry: Loose) => asString(entry.resourceId)?.toLowerCase();
  onePerServer(plan, 'targetServers', 'resourceId', targetIdentity, {
    same: 'is the same target as',
    why: 'the DAG judges the room for restores per entry, and two databases could migrate into one target database under both',
  }, report);

  checkOwnConnections(plan, report);
  checkSqlPipelineConcurrency(plan, report);

  const earlierEmail = firstSeen<number>();
  asArray(asRecord(plan.notifications)?.emails).forEach((item, index) => {
    const email = asString(item)?.toLowerCase();
    const first = email === undefined ? undefined : earlierEmail(email, index);
    if (first !== undefined) report(['notifications', 'emails', index], `duplicate email address (also notifications.emails[${first}])`);
  });

  for (const { index, entry } of targetServers.byName.values()) {
    const kind = asTargetKind(entry.kind);
    const resourceId = asString(entry.resourceId);
    if (kind === undefined || resourceId === undefined) continue;
    const actualKind = TARGET_KINDS.find((k) => TARGET_RESOURCE_ID[k].pattern.test(resourceId));
    // An id matching no kind at all is already a format problem of the field itself.
    if (actualKind !== undefined && actualKind !== kind) {
      const { example } = TARGET_RESOURCE_ID[kind];
      const problem = `is the id of a ${actualKind} target but kind is ${kind}, which needs ${example}`;
      report(['targetServers', index, 'resourceId'], problem);
    }
  }

  checkDatabases(plan, sourceServers, targetServers, databases, report);
}

/** Through Data Factory, the SQL steps at once become each SQL pipeline's `concurrency`, which azurerm caps. */
function checkSqlPipelineConcurrency(plan: Loose, report: ReportProblem): void {
  const steps = asRecord(plan.concurrency)?.maxSqlStepsPerRuntime;
  if (asRecord(plan.airflow)?.sqlAccess !== 'dataFactory' || typeof steps !== 'number' || steps <= MAX_PIPELINE_CONCURRENCY) return;
  report(
    ['concurrency', 'maxSqlStepsPerRuntime'],
    `must be at most ${MAX_PIPELINE_CONCURRENCY} with airflow.sqlAccess dataFactory, got ${steps}: it is the concurrency of each SQL pipeline, ` +
      `which azurerm_data_factory_pipeline accepts from 1 to ${MAX_PIPELINE_CONCURRENCY}`,
  );
}

/** `host\\instance,port` letter case aside, the default instance named or not; undefined where unreadable. */
function sourceServerIdentity(entry: Loose): string | undefined {
  const host = asString(entry.host)?.toLowerCase().replace(/\\mssqlserver$/, '');
  const port = entry.port ?? 1433;
  return host === undefined || typeof port !== 'number' ? undefined : `${host},${port}`;
}

/**
 * Each server's own Airflow connection and connection string secret, defaults included: the DAG
 * reaches a server at its connection's host, so two entries on one connection read one server.
 * Key Vault keeps both under names it compares without letter case.
 */
function checkOwnConnections(plan: Loose, report: ReportProblem): void {
  type Use = { path: Path; id: string; written: boolean };
  const uses = (list: 'sourceServers' | 'targetServers', field: string, fallback: (name: string) => string): Use[] =>
    asArray(plan[list]).flatMap((item, index) => {
      const entry = asRecord(item);
      const written = asString(entry?.[field]);
      const name = asString(entry?.name);
      const id = written ?? (name === undefined ? undefined : fallback(name));
      return id === undefined ? [] : [{ path: [list, index, field], id, written: written !== undefined }];
    });
  const backup = asString(asRecord(plan.backupStorage)?.connectionId);
  const refuse = (all: Use[], what: string, why: string) => {
    const earlier = firstSeen<Use>();
    for (const use of all) {
      const other = earlier(use.id.toLowerCase(), use);
      // Two defaults meet only under a duplicate server name, reported as such.
      if (other === undefined || (!use.written && !other.written)) continue;
      // Point at a name the author wrote: the later one, or the first where only it was written.
      const [at, also] = use.written ? [use, other] : [other, use];
      report(at.path, `${quote(at.id)} is also the ${what} of ${formatFieldPath(also.path.slice(0, -1))}: ${why}; give each its own`);
    }
  };
  refuse(
    [
      ...uses('sourceServers', 'connectionId', (name) => defaultConnectionId('source', name)),
      ...uses('targetServers', 'connectionId', (name) => defaultConnectionId('target', name)),
      ...(backup === undefined ? [] : [{ path: ['backupStorage', 'connectionId'], id: backup, written: true }]),
    ],
    'connection',
    "the DAG reaches a server at its connection's host, so both would read one server",
  );
  // DMS gets the share's user and password and the storage account key from these two (dags migration_request.py).
  const share = asArray(plan.sourceServers).findIndex((item) => asString(asRecord(asRecord(item)?.backupFileShare)?.connectionId)?.toLowerCase() === backup?.toLowerCase());
  if (backup !== undefined && share >= 0) {
    report(
      ['backupStorage', 'connectionId'],
      `${quote(backup)} is also the connection of sourceServers[${share}].backupFileShare: DMS reads the share's user and password from one and the storage account key from the other, so one of them would be wrong; give each its own`,
    );
  }
  refuse(
    uses('sourceServers', 'connectionStringSecretName', defaultConnectionStringSecretName),
    'connection string secret',
    "Data Factory reaches a source server through its secret's connection string, so both would reach one server",
  );
}

function onePerServer(
  plan: Loose,
  list: string,
  field: string,
  identity: (entry: Loose) => string | undefined,
  { same, why }: { same: string; why: string },
  report: ReportProblem,
): void {
  const earlier = firstSeen<number>();
  asArray(plan[list]).forEach((item, index) => {
    const entry = asRecord(item);
    const key = entry === undefined ? undefined : identity(entry);
    const first = key === undefined ? undefined : earlier(key, index);
    if (first !== undefined) report([list, index, field], `${same} ${list}[${first}]: ${why}; give the server one entry`);
  });
}

function namedEntries(plan: Loose, list: string, what: string, report: ReportProblem) {
  const byName = new Map<string, NamedEntry>();
  // The first entry of each name letter case aside: Airflow Variables are keyed by a database's name, and
  // MySQL's usual collations compare keys without case.
  const earlier = firstSeen<{ index: number; name: string }>();
  const caseAside = " letter case aside (the DAG's Airflow Variables are keyed by it, and may compare keys without case)";
  asArray(plan[list]).forEach((item, index) => {
    const entry = asRecord(item);
    const name = asString(entry?.name);
    if (entry === undefined || name === undefined) return;
    const first = earlier(name.toLowerCase(), { index, name });
    if (first === undefined) byName.set(name, { index, entry });
    else {
      const how = first.name === name ? '' : caseAside;
      report([list, index, 'name'], `duplicate ${what} name ${quote(name)}${how} (also ${list}[${first.index}])`);
    }
  });
  const resolve = (reference: unknown, path: Path): NamedEntry | undefined => {
    const name = asString(reference);
    // With no valid entries to refer to, the list itself is the problem, already reported.
    if (name === undefined || byName.size === 0) return undefined;
    const found = byName.get(name);
    if (found === undefined) {
      const names = [...byName.keys()];
      const suggestion = closestMatch(name, names);
      const hint = suggestion === undefined ? '' : `did you mean ${quote(suggestion)}? `;
      report(path, `unknown ${what} ${quote(name)} (${hint}known: ${listBriefly(names.map(showName))})`);
    }
    return found;
  };
  return { byName, resolve };
}

function checkDatabases(
  plan: Loose,
  sourceServers: NamedEntries,
  targetServers: NamedEntries,
  databases: NamedEntries,
  report: ReportProblem,
): void {
  const needBackupStorage: string[] = [];
  const needFileShare = new Map<NamedEntry, string[]>();
  const claims = new Map<string, { index: number; name: string }>();
  /** "<name> and <the database that claimed key first> both migrate", or undefined when this is the first. */
  const bothMigrate = (key: string, index: number, name: string) => {
    const first = claims.get(key);
    if (first === undefined) claims.set(key, { index, name });
    return first && `${name} and ${first.name} (databases[${first.index}]) both migrate`;
  };
  const nodes: { name: string; dependsOn: string[]; index: number; written: readonly unknown[] }[] = [];

  asArray(plan.databases).forEach((item, index) => {
    const database = asRecord(item);
    if (database === undefined) return;
    const given = asString(database.name);
    const name = given === undefined ? `databases[${index}]` : showName(given);
    const source = asRecord(database.source);
    const target = asRecord(database.target);
    const at = (...path: (string | number)[]) => ['databases', index, ...path];

    if (given !== undefined) {
      const written = asArray(database.dependsOn);
      const seen = new Set<string>();
      written.forEach((dependency, j) => {
        if (typeof dependency !== 'string') return;
        if (dependency === given) report(at('dependsOn', j), `${name} cannot depend on itself`);
        else if (seen.has(dependency)) report(at('dependsOn', j), `duplicate dependency ${quote(dependency)}`);
        else databases.resolve(dependency, at('dependsOn', j));
        seen.add(dependency);
      });
      if (databases.byName.get(given)?.index === index)
        nodes.push({ name: given, dependsOn: [...seen], index, written });
    }

    const sourceServer = sourceServers.resolve(source?.server, at('source', 'server'));
    const sourceDatabase = asString(source?.database);
    if (sourceServer !== undefined && sourceDatabase !== undefined) {
      const fromSame = bothMigrate(`source ${sourceServer.index}/${sameSqlName(sourceDatabase)}`, index, name);
      if (fromSame) {
        // The DAG freezes a source for its migration and unfreezes it on rollback.
        const why = "a rollback of one would make it writable beside the other's target: migrate it once";
        const what = `source database ${quote(sourceDatabase)} of source server ${quote(String(source?.server))}`;
        report(at('source'), `${fromSame} ${what}; ${why}`);
      }
    }
    const targetServer = targetServers.resolve(target?.server, at('target', 'server'));
    if (targetServer === undefined) return;
    const server = () => quote(String(target?.server));

    const targetDatabase = asString(target?.database) ?? asString(source?.database);
    if (targetDatabase !== undefined) {
      const intoSame = bothMigrate(`target ${targetServer.index}/${sameSqlName(targetDatabase)}`, index, name);
      if (intoSame) report(at('target'), `${intoSame} into ${quote(targetDatabase)} on target server ${server()}`);
    }

    const kind = asTargetKind(targetServer.entry.kind);
    if (kind === undefined) return;
    const givenKind = asTargetKind(target?.kind);
    if (givenKind !== undefined && givenKind !== kind) {
      report(
        at('target', 'kind'),
        `is ${givenKind} but target server ${server()} is ${kind}; leave kind out or make them match`,
      );
    }
    if (database.mode === 'online' && kind === 'SqlDb') {
      const reason = 'DMS migrates to Azure SQL Database (SqlDb) offline only; use mode: offline';
      report(at('mode'), `${name} cannot migrate online: ${reason}`);
    }
    if (database.sourceFreeze === 'singleUser' && kind === 'SqlDb') {
      const reason = 'DMS copies to SqlDb through its own connections to the source, which SINGLE_USER would shut out';
      report(at('sourceFreeze'), `${name} cannot freeze its source as singleUser: ${reason}; use readOnly`);
    }
    if (database.allowSourceWritesDuringCopy === true && kind !== 'SqlDb') {
      const reason = `${kind} restores backups, and only a SqlDb migration copies from the running source`;
      report(
        at('allowSourceWritesDuringCopy'),
        `applies to SqlDb targets only: ${reason}; leave it out or set it to false`,
      );
    }
    if (BACKUP_RESTORE_KINDS.includes(kind)) {
      needBackupStorage.push(name);
      if (sourceServer !== undefined && sourceServer.entry.backupFileShare === undefined) {
        (needFileShare.get(sourceServer) ?? needFileShare.set(sourceServer, []).get(sourceServer)!).push(name);
      }
    }
  });

  const goes = (names: readonly string[]) =>
    names.length === 1 ? `database ${names[0]} goes` : `databases ${listBriefly(names)} go`;
  if (needBackupStorage.length > 0 && plan.backupStorage === undefined) {
    const why = 'to SqlMi/SqlVm, which DMS restores from backups staged in a storage account';
    report(['backupStorage'], `missing: ${goes(needBackupStorage)} ${why}`);
  }
  for (const [server, names] of needFileShare) {
    const why = "from this server to SqlMi/SqlVm, which restores from the server's backups on an SMB share";
    report(['sourceServers', server.index, 'backupFileShare'], `missing: ${goes(names)} ${why}`);
  }
  const byName = new Map(nodes.map((node) => [node.name, node]));
  for (const { cycle, entangled } of findDependencyCycles(nodes)) {
    const first = byName.get(cycle[0])!;
    const others = entangled.filter((name) => !cycle.includes(name)).map(showName);
    const alsoEntangled = others.length === 0 ? '' : ` (in the same loop: ${listBriefly(others)})`;
    const edge = first.written.indexOf(cycle[1]);
    report(['databases', first.index, 'dependsOn', edge], `dependency cycle: ${formatCycle(cycle)}${alsoEntangled}`);
  }
}
