/**
 * Rules that span fields: unique names, references between databases and servers, target kinds
 * against modes and backups, dependencies and cycles. They run even when parts of the document
 * have the wrong shape (so one pass reports everything), which is why they read the value
 * defensively instead of trusting its type.
 */
import { findDependencyCycles, formatCycle, type DependencyNode } from './graph';
import { quote, showName } from './field-path';
import * as rules from './rules';
import { closestMatch, listBriefly } from './suggest';
import type { TargetKind } from './types';

export type ReportProblem = (path: readonly (string | number)[], message: string) => void;

type Loose = Readonly<Record<string, unknown>>;

function asRecord(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : undefined;
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asTargetKind(value: unknown): TargetKind | undefined {
  return rules.TARGET_KINDS.find((kind) => kind === value);
}

interface NamedEntry {
  readonly index: number;
  readonly entry: Loose;
}

export function checkPlanSemantics(value: unknown, report: ReportProblem): void {
  const plan = asRecord(value);
  if (plan === undefined) return;

  const sourceServers = indexByName(plan.sourceServers, 'sourceServers', 'source server', report);
  const targetServers = indexByName(plan.targetServers, 'targetServers', 'target server', report);
  const databases = indexByName(plan.databases, 'databases', 'database', report);

  checkUniqueEmails(plan, report);
  checkTargetResourceIds(targetServers, report);
  checkDatabaseTargets(plan, sourceServers, targetServers, report);
  checkDependencies(plan.databases, databases, report);
}

/** Entries by name (first wins); a later entry with the same name is a problem. */
function indexByName(list: unknown, listPath: string, what: string, report: ReportProblem): Map<string, NamedEntry> {
  const byName = new Map<string, NamedEntry>();
  asArray(list).forEach((item, index) => {
    const entry = asRecord(item);
    const name = asString(entry?.name);
    if (entry === undefined || name === undefined) return;
    const first = byName.get(name);
    if (first === undefined) {
      byName.set(name, { index, entry });
    } else {
      report([listPath, index, 'name'], `duplicate ${what} name ${quote(name)} (also ${listPath}[${first.index}])`);
    }
  });
  return byName;
}

function checkUniqueEmails(plan: Loose, report: ReportProblem): void {
  const seen = new Map<string, number>();
  asArray(asRecord(plan.notifications)?.emails).forEach((item, index) => {
    const email = asString(item)?.toLowerCase();
    if (email === undefined) return;
    const first = seen.get(email);
    if (first === undefined) seen.set(email, index);
    else report(['notifications', 'emails', index], `duplicate email address (also notifications.emails[${first}])`);
  });
}

function checkTargetResourceIds(targetServers: ReadonlyMap<string, NamedEntry>, report: ReportProblem): void {
  for (const { index, entry } of targetServers.values()) {
    const kind = asTargetKind(entry.kind);
    const resourceId = asString(entry.resourceId);
    if (kind === undefined || resourceId === undefined) continue;
    const expected = rules.TARGET_RESOURCE_ID[kind];
    const actualKind = rules.TARGET_KINDS.find((k) => rules.TARGET_RESOURCE_ID[k].pattern.test(resourceId));
    // An id matching no kind at all is already a format problem of the field itself.
    if (actualKind !== undefined && actualKind !== kind) {
      report(
        ['targetServers', index, 'resourceId'],
        `is the id of a ${actualKind} target but kind is ${kind}, which needs ${expected.example}`,
      );
    }
  }
}

function checkDatabaseTargets(
  plan: Loose,
  sourceServers: ReadonlyMap<string, NamedEntry>,
  targetServers: ReadonlyMap<string, NamedEntry>,
  report: ReportProblem,
): void {
  const needBackupStorage: string[] = [];
  const needFileShare = new Map<NamedEntry, string[]>();
  const migratedTo = new Map<string, { index: number; name: string }>();

  asArray(plan.databases).forEach((item, index) => {
    const database = asRecord(item);
    if (database === undefined) return;
    const given = asString(database.name);
    const name = given === undefined ? `databases[${index}]` : showName(given);
    const source = asRecord(database.source);
    const target = asRecord(database.target);
    const at = (...path: string[]) => ['databases', index, ...path];

    const sourceServer = resolveReference(source?.server, sourceServers, at('source', 'server'), 'source server', report);
    const targetServer = resolveReference(target?.server, targetServers, at('target', 'server'), 'target server', report);
    if (targetServer === undefined) return;

    const targetDatabase = asString(target?.database) ?? asString(source?.database);
    if (targetDatabase !== undefined) {
      // SQL Server and Azure SQL compare database names case-insensitively.
      const key = `${targetServer.index}/${targetDatabase.toLowerCase()}`;
      const first = migratedTo.get(key);
      if (first === undefined) migratedTo.set(key, { index, name });
      else {
        const where = `${quote(targetDatabase)} on target server ${quote(String(target?.server))}`;
        report(at('target'), `${name} and ${first.name} (databases[${first.index}]) both migrate into ${where}`);
      }
    }

    const serverKind = asTargetKind(targetServer.entry.kind);
    if (serverKind === undefined) return;
    const givenKind = asTargetKind(target?.kind);
    if (givenKind !== undefined && givenKind !== serverKind) {
      const server = quote(String(target?.server));
      report(
        at('target', 'kind'),
        `is ${givenKind} but target server ${server} is ${serverKind}; leave kind out or make them match`,
      );
    }
    if (database.mode === 'online' && serverKind === 'SqlDb') {
      const reason = 'DMS migrates to Azure SQL Database (SqlDb) offline only; use mode: offline';
      report(at('mode'), `${name} cannot migrate online: ${reason}`);
    }
    if (database.sourceFreeze === 'singleUser' && serverKind === 'SqlDb') {
      const reason = 'DMS copies to SqlDb through its own connections to the source, which SINGLE_USER would shut out';
      report(at('sourceFreeze'), `${name} cannot freeze its source as singleUser: ${reason}; use readOnly`);
    }
    if (database.allowSourceWritesDuringCopy === true && serverKind !== 'SqlDb') {
      const reason = `${serverKind} restores backups, and only a SqlDb migration copies from the running source`;
      report(at('allowSourceWritesDuringCopy'), `applies to SqlDb targets only: ${reason}; leave it out or set it to false`);
    }
    if (rules.BACKUP_RESTORE_KINDS.includes(serverKind)) {
      needBackupStorage.push(name);
      if (sourceServer !== undefined && sourceServer.entry.backupFileShare === undefined) {
        const names = needFileShare.get(sourceServer) ?? [];
        names.push(name);
        needFileShare.set(sourceServer, names);
      }
    }
  });

  if (needBackupStorage.length > 0 && plan.backupStorage === undefined) {
    const why = 'to SqlMi/SqlVm, which DMS restores from backups staged in a storage account';
    report(['backupStorage'], `missing: ${describeDatabases(needBackupStorage)} ${why}`);
  }
  for (const [server, names] of needFileShare) {
    const why = "from this server to SqlMi/SqlVm, which restores from the server's backups on an SMB share";
    report(['sourceServers', server.index, 'backupFileShare'], `missing: ${describeDatabases(names)} ${why}`);
  }
}

function describeDatabases(names: readonly string[]): string {
  return names.length === 1 ? `database ${names[0]} goes` : `databases ${listBriefly(names)} go`;
}

function resolveReference(
  reference: unknown,
  known: ReadonlyMap<string, NamedEntry>,
  path: readonly (string | number)[],
  what: string,
  report: ReportProblem,
): NamedEntry | undefined {
  const name = asString(reference);
  // With no valid entries to refer to, the list itself is the problem, already reported.
  if (name === undefined || known.size === 0) return undefined;
  const found = known.get(name);
  if (found === undefined) report(path, unknownNameMessage(what, name, known.keys()));
  return found;
}

function unknownNameMessage(what: string, name: string, known: Iterable<string>): string {
  const names = [...known];
  const suggestion = closestMatch(name, names);
  const hint = suggestion === undefined ? '' : `did you mean ${quote(suggestion)}? `;
  return `unknown ${what} ${quote(name)} (${hint}known: ${listBriefly(names.map(showName))})`;
}

function checkDependencies(list: unknown, databases: ReadonlyMap<string, NamedEntry>, report: ReportProblem): void {
  const nodes: DependencyNode[] = [];
  const pathOf = new Map<string, { index: number; dependsOn: readonly unknown[] }>();

  asArray(list).forEach((item, index) => {
    const database = asRecord(item);
    const name = asString(database?.name);
    if (database === undefined || name === undefined) return;
    const dependsOn = asArray(database.dependsOn);
    const seen = new Set<string>();
    dependsOn.forEach((dep, j) => {
      if (typeof dep !== 'string') return;
      const path = ['databases', index, 'dependsOn', j];
      if (dep === name) report(path, `${showName(name)} cannot depend on itself`);
      else if (seen.has(dep)) report(path, `duplicate dependency ${quote(dep)}`);
      else if (!databases.has(dep)) report(path, unknownNameMessage('database', dep, databases.keys()));
      seen.add(dep);
    });
    if (databases.get(name)?.index === index) {
      nodes.push({ name, dependsOn: [...seen] });
      pathOf.set(name, { index, dependsOn });
    }
  });

  for (const { cycle, entangled } of findDependencyCycles(nodes)) {
    const first = pathOf.get(cycle[0])!;
    const edge = first.dependsOn.indexOf(cycle[1 % cycle.length]);
    const others = entangled.filter((name) => !cycle.includes(name)).map(showName);
    const alsoEntangled = others.length === 0 ? '' : ` (in the same loop: ${listBriefly(others)})`;
    report(['databases', first.index, 'dependsOn', edge], `dependency cycle: ${formatCycle(cycle)}${alsoEntangled}`);
  }
}
