/**
 * Odd strings (unicode, bidi marks, control characters, prototype names, injection, 100 KB) in
 * every string field of valid plans: kept exactly, or refused by a MigrationPlanError at that field.
 */
import fc from 'fast-check';
import { parseMigrationPlan } from '../../lib/plan';
import { isValidSqlDatabaseName, oddString, validPlanDocument } from './arbitraries';
import { expectProblemAt, expectWellFormed, outcomeOf, runs } from './outcomes';
import { clone, getAt, printedPath, setAt, shapeOf, stringFields, withString, type FieldPath } from './plan-paths';

/**
 * The value names another entry: a reference to an existing one makes a valid plan whose other
 * rules (cycles, landings) may then fail elsewhere, and names are unique letter case aside, a clash
 * refused at the later of the two entries.
 */
function namesAnother(document: any, path: FieldPath, value: string): boolean {
  const shape = shapeOf(path);
  const names = (list: string): string[] => document[list].map((entry: any) => entry.name);
  if (shape.startsWith('databases[].dependsOn')) return names('databases').includes(value);
  if (shape === 'databases[].source.server') return names('sourceServers').includes(value);
  if (shape === 'databases[].target.server') return names('targetServers').includes(value);
  if (['databases[].name', 'sourceServers[].name', 'targetServers[].name'].includes(shape)) {
    return names(path[0] as string).some((name, i) => i !== path[1] && name.toLowerCase() === value.toLowerCase());
  }
  return false;
}

/**
 * Another database already migrates this source database or lands in this target database (SQL
 * names compare without letter case and trailing spaces): refused at the later of the two.
 */
function clashesWithAnother(document: any, index: number): boolean {
  const sqlName = (name: string) => name.toLowerCase().trimEnd();
  const source = (db: any) => `${db.source.server}/${sqlName(db.source.database)}`;
  const landing = (db: any) => `${db.target.server}/${sqlName(db.target.database ?? db.source.database)}`;
  const mine = document.databases[index];
  return document.databases.some(
    (db: any, i: number) => i !== index && (source(db) === source(mine) || landing(db) === landing(mine)),
  );
}

const apartWithoutCase = (ids: string[]) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length;

/**
 * One entry per SQL Server (host and port, letter case aside), each with its own Airflow connection
 * and connection string secret, and the storage key out of every backup share's connection: a
 * clash is refused at the later of the two fields, which need not be the one this test changed.
 */
function serversStayApart(document: any): boolean {
  const backup = document.backupStorage?.connectionId as string | undefined;
  const shares = document.sourceServers.map((server: any) => server.backupFileShare?.connectionId).filter(Boolean);
  return (
    apartWithoutCase(document.sourceServers.map((server: any) => `${server.host.replace(/\\mssqlserver$/i, '')},${server.port ?? 1433}`)) &&
    apartWithoutCase([
      ...document.sourceServers.map((server: any) => server.connectionId ?? `mssql_source_${server.name.replace(/-/g, '_')}`),
      ...document.targetServers.map((server: any) => server.connectionId ?? `mssql_target_${server.name.replace(/-/g, '_')}`),
      ...(backup === undefined ? [] : [backup]),
    ]) &&
    apartWithoutCase(document.sourceServers.map((server: any) => server.connectionStringSecretName ?? `${server.name}-connection-string`)) &&
    (backup === undefined || !shares.some((share: string) => share.toLowerCase() === backup.toLowerCase()))
  );
}

type Verdict = 'valid' | 'invalid' | 'either';

/**
 * What the documented rules say about `value` in the field at `path`: free-text fields have an
 * exact rule; every other string field is an ASCII identifier, name, id or address, so empty
 * text, spaces, control characters or any non-ASCII character make it invalid.
 */
function verdict(path: FieldPath, value: string): Verdict {
  const shape = shapeOf(path);
  if (shape === 'databases[].source.database' || shape === 'databases[].target.database') {
    return isValidSqlDatabaseName(value) ? 'valid' : 'invalid';
  }
  if (path[0] === 'tags') return value.length <= 256 ? 'valid' : 'invalid';
  if (shape === 'sourceServers[].backupFileShare.path') return 'either';
  return value === '' || /[^\x21-\x7e]/.test(value) ? 'invalid' : 'either';
}

function tagKeyVerdict(key: string): Verdict {
  return key.length >= 1 && key.length <= 512 && !/[<>%&\\?/]/.test(key) && key !== '__proto__' ? 'valid' : 'invalid';
}

function check(document: any, path: FieldPath, expected: Verdict, kept: (plan: any) => boolean): void {
  const outcome = outcomeOf(() => parseMigrationPlan(document));
  if ('plan' in outcome) {
    expect(expected).not.toBe('invalid');
    expect(kept(outcome.plan)).toBe(true);
  } else {
    expect(expected).not.toBe('valid');
    expectWellFormed(outcome.error, '<plan>');
    expectProblemAt(outcome.error, printedPath(path), /./);
  }
}

describe('odd strings in valid plans', () => {
  test('in any string field: kept exactly, or refused at that field', () => {
    fc.assert(
      fc.property(
        validPlanDocument({ maxDatabases: 10 }).chain((document) =>
          fc.record({
            document: fc.constant(document),
            path: fc.constantFrom(...stringFields(document)),
            value: oddString,
          }),
        ),
        ({ document, path, value }) => {
          fc.pre(!namesAnother(document, path, value));
          const copy = withString(document, path, value);
          if (path[0] === 'databases') fc.pre(!clashesWithAnother(copy, path[1] as number));
          fc.pre(serversStayApart(copy));
          check(copy, path, verdict(path, value), (plan) => getAt(plan, path) === value);
        },
      ),
      runs(400),
    );
  });

  test('as a tag key: kept exactly, or refused at that key', () => {
    fc.assert(
      fc.property(validPlanDocument({ maxDatabases: 3 }), oddString, (document, key) => {
        const copy = clone(document);
        fc.pre(copy.tags === undefined || !Object.hasOwn(copy.tags, key));
        setAt(copy, ['tags'], copy.tags ?? {});
        setAt(copy, ['tags', key], 'value');
        check(
          copy,
          ['tags', key],
          tagKeyVerdict(key),
          (plan) => Object.hasOwn(plan.tags, key) && plan.tags[key] === 'value',
        );
      }),
      runs(300),
    );
  });
});
