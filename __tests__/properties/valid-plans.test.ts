/** Generated valid plans: they parse, get their defaults, render back to themselves, and order correctly. */
import fc from 'fast-check';
import { migrationWaves, parseMigrationPlan, renderMigrationPlan, topologicalOrder } from '../../lib/plan';
import { validPlanDocument } from './arbitraries';
import { expectDeepEqual, runs } from './outcomes';
import { clone } from './plan-paths';

/** The documented defaults (docs/migration-plan.md's field table), applied to a valid document by hand. */
function withDefaults(document: any): unknown {
  const kindOf = new Map<string, string>(document.targetServers.map((server: any) => [server.name, server.kind]));
  return {
    ...document,
    tags: document.tags ?? {},
    notifications: { longRunningMinutes: 60, ...document.notifications },
    airflow: {
      host: 'kubernetes',
      sqlAccess: document.airflow?.sqlAccess ?? 'direct',
      kubernetes: { nodeVmSize: 'Standard_D4ds_v5', minNodes: 1, maxNodes: 4, executor: 'CeleryExecutor', secretRotation: 1, ...document.airflow?.kubernetes },
    },
    concurrency: { maxMigrationsPerService: 10, maxMigrationsPerSourceServer: 2, maxSqlStepsPerRuntime: 4, ...document.concurrency },
    cutover: {},
    sourceServers: document.sourceServers.map((server: any) => ({
      port: 1433,
      authentication: 'SqlAuthentication',
      connectionId: `mssql_source_${server.name.replace(/-/g, '_')}`,
      connectionStringSecretName: `${server.name}-connection-string`,
      ...server,
    })),
    targetServers: document.targetServers.map((server: any) => ({
      connectionId: `mssql_target_${server.name.replace(/-/g, '_')}`,
      ...server,
    })),
    databases: document.databases.map((db: any) => {
      const kind = kindOf.get(db.target.server);
      return {
        mode: kind === 'SqlDb' ? 'offline' : 'online',
        sourceFreeze: 'readOnly',
        allowSourceWritesDuringCopy: false,
        dependsOn: [],
        timeoutMinutes: 720,
        ...db,
        target: { database: db.source.database, kind, ...db.target },
        validation: { rowCounts: true, checksums: false, ...db.validation },
        cutover: { windows: [], expectedMinutes: 30, approval: { required: false, approvers: [], channel: 'hitl' } },
      };
    }),
  };
}

/** Every database's transitive dependencies, straight from the document. */
function transitiveDependencies(document: any): Map<string, Set<string>> {
  const direct = new Map<string, string[]>(document.databases.map((db: any) => [db.name, db.dependsOn ?? []]));
  const closure = new Map<string, Set<string>>();
  const visit = (name: string): Set<string> => {
    let found = closure.get(name);
    if (found === undefined) {
      found = new Set();
      for (const dep of direct.get(name)!) {
        found.add(dep);
        for (const indirect of visit(dep)) found.add(indirect);
      }
      closure.set(name, found);
    }
    return found;
  };
  for (const name of direct.keys()) visit(name);
  return closure;
}

describe('valid generated plans', () => {
  test('parse with every default filled and every given value kept', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const plan = parseMigrationPlan(document);
        // Through JSON: the generated records may have null prototypes, the plan's never do.
        expectDeepEqual(plan, withDefaults(clone(document)));
        expect(Object.isFrozen(plan.databases[0].target)).toBe(true);
      }),
      runs(300),
    );
  });

  test('renderMigrationPlan round-trips byte for byte', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const plan = parseMigrationPlan(document);
        const rendered = renderMigrationPlan(plan);
        const reparsed = parseMigrationPlan(JSON.parse(rendered));
        expectDeepEqual(reparsed, plan);
        expect(renderMigrationPlan(reparsed)).toBe(rendered);
      }),
      runs(150),
    );
  });

  test('topologicalOrder lists every database once, each after its dependencies', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const order = topologicalOrder(parseMigrationPlan(document));
        expect([...order].sort()).toEqual(document.databases.map((db: any) => db.name).sort());
        const position = new Map(order.map((name, i) => [name, i]));
        const late = document.databases.flatMap((db: any) =>
          (db.dependsOn ?? [])
            .filter((dep: string) => position.get(dep)! > position.get(db.name)!)
            .map((dep: string) => `${dep} after ${db.name}`),
        );
        expect(late).toEqual([]);
      }),
      runs(200),
    );
  });

  test('migrationWaves: a partition where each wave is one past its latest dependency, with no path inside a wave', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const waves = migrationWaves(parseMigrationPlan(document));
        const waveOf = new Map<string, number>();
        waves.forEach((wave, i) => wave.forEach((name) => waveOf.set(name, i)));
        expect(waves.every((wave) => wave.length > 0)).toBe(true);
        expect(waves.flat()).toHaveLength(document.databases.length);
        expect(waveOf.size).toBe(document.databases.length);

        const expectedWave = (db: any) =>
          (db.dependsOn ?? []).reduce((wave: number, dep: string) => Math.max(wave, waveOf.get(dep)! + 1), 0);
        const misplaced = document.databases
          .filter((db: any) => waveOf.get(db.name) !== expectedWave(db))
          .map((db: any) => `${db.name} in wave ${waveOf.get(db.name)}, expected ${expectedWave(db)}`);
        expect(misplaced).toEqual([]);
        const reaches = transitiveDependencies(document);
        const pathsInsideWaves = waves.flatMap((wave) =>
          wave.flatMap((a) => wave.filter((b) => reaches.get(a)!.has(b)).map((b) => `${a} needs ${b}`)),
        );
        expect(pathsInsideWaves).toEqual([]);
      }),
      runs(250),
    );
  });
});
