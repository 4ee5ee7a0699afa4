/** Valid plans broken in one known place: the error is a MigrationPlanError that names the place. */
import fc from 'fast-check';
import { parseMigrationPlan } from '../../lib/plan';
import { databaseName, oddString, serverName, validPlanDocument } from './arbitraries';
import { expectProblemAt, expectWellFormed, planErrorOf, runs } from './outcomes';
import {
  allPaths,
  clone,
  getAt,
  KNOWN_FIELDS,
  printedPath,
  REQUIRED_FIELDS,
  setAt,
  shapeOf,
  stringFields,
  withString,
  type FieldPath,
} from './plan-paths';

/** A broken document and where the loader must say it is broken. */
interface Breakage {
  readonly document: any;
  readonly path: string;
  readonly message: RegExp;
}

type Break = (document: any) => fc.Arbitrary<Breakage>;

const smallPlan = validPlanDocument({ maxDatabases: 12 });

function broken(document: any, path: FieldPath, message: RegExp, change: (copy: any) => void): Breakage {
  const copy = clone(document);
  change(copy);
  return { document: copy, path: printedPath(path), message };
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

const valueOfKind: Record<string, fc.Arbitrary<unknown>> = {
  number: fc.oneof(fc.integer(), fc.double()),
  string: fc.string({ maxLength: 10 }),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  object: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
};

/** Any field, replaced by a value of another JSON type (numbers for strings, lists for mappings, null, ...). */
const wrongType: Break = (document) =>
  fc.constantFrom(...allPaths(document)).chain(({ path, value }) =>
    fc
      .constantFrom(...Object.keys(valueOfKind).filter((kind) => kind !== kindOf(value)))
      .chain((kind) => valueOfKind[kind])
      .map((replacement) => broken(document, path, /\S/, (copy) => setAt(copy, path, replacement))),
  );

/** Objects of the plan with the fields they must have, including those another field makes required. */
function requiredFields(document: any): FieldPath[] {
  const required = allPaths(document).flatMap(({ path, value }) =>
    (REQUIRED_FIELDS[shapeOf(path)] ?? [])
      .filter((field) => (value as any)[field] !== undefined)
      .map((field) => [...path, field]),
  );
  for (const field of REQUIRED_FIELDS['']) required.push([field]);
  const kinds = new Map(document.targetServers.map((server: any) => [server.name, server.kind]));
  const restoring = document.databases.filter((db: any) => kinds.get(db.target.server) !== 'SqlDb');
  if (restoring.length > 0) required.push(['backupStorage']);
  document.sourceServers.forEach((server: any, i: number) => {
    if (restoring.some((db: any) => db.source.server === server.name))
      required.push(['sourceServers', i, 'backupFileShare']);
  });
  return required;
}

const removedRequiredField: Break = (document) =>
  fc
    .tuple(fc.constantFrom(...requiredFields(document)), fc.boolean())
    .map(([path, keepKey]) => broken(document, path, /^missing/, (copy) => setAt(copy, path, undefined, !keepKey)));

const emptiedList: Break = (document) => {
  const lists: FieldPath[] = [['notifications', 'emails'], ['sourceServers'], ['targetServers'], ['databases']];
  document.databases.forEach((db: any, i: number) => {
    if (db.validation?.tables !== undefined) lists.push(['databases', i, 'validation', 'tables']);
  });
  return fc
    .constantFrom(...lists)
    .map((path) => broken(document, path, /(needs|at least) one/, (copy) => setAt(copy, path, [])));
};

/** Objects that only take the fields of their type (tags take any key). */
function strictObjects(document: any): FieldPath[] {
  return [[] as FieldPath, ...allPaths(document).map(({ path }) => path)].filter(
    (path) => KNOWN_FIELDS[shapeOf(path)] !== undefined && kindOf(getAt(document, path)) === 'object',
  );
}

const unknownField: Break = (document) =>
  fc
    .tuple(
      fc.constantFrom(...strictObjects(document)),
      fc.oneof(
        oddString,
        fc.constantFrom('__proto__', 'constructor', 'Name', 'dependson', 'kind ', 'schedule'),
        databaseName,
      ),
    )
    .filter(([path, key]) => !KNOWN_FIELDS[shapeOf(path)].includes(key))
    .map(([path, key]) =>
      broken(document, [...path, key], /^unknown field/, (copy) => setAt(copy, [...path, key], 'surprise')),
    );

const NAMED_LISTS = { databases: 'database', sourceServers: 'source server', targetServers: 'target server' };

const duplicateName: Break = (document) => {
  const lists = (Object.keys(NAMED_LISTS) as (keyof typeof NAMED_LISTS)[]).filter((list) => document[list].length > 1);
  if (lists.length === 0) return fc.constant(duplicateEmail(document, 0));
  return fc.constantFrom(...lists).chain((list) =>
    fc
      .uniqueArray(fc.nat({ max: document[list].length - 1 }), { minLength: 2, maxLength: 2 })
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)])
      .map(([first, later]) =>
        broken(document, [list, later, 'name'], new RegExp(`^duplicate ${NAMED_LISTS[list]} name`), (copy) => {
          copy[list][later].name = copy[list][first].name;
        }),
      ),
  );
};

function duplicateEmail(document: any, index: number): Breakage {
  const emails: string[] = document.notifications.emails;
  return broken(document, ['notifications', 'emails', emails.length], /^duplicate email address/, (copy) =>
    copy.notifications.emails.push(emails[index].toUpperCase()),
  );
}

/** Addresses that break the documented rule (dot-atom local part, hostname labels, a dot in the domain, 254 at most). */
const invalidEmail: Break = (document) => {
  const emails: string[] = document.notifications.emails;
  return fc.tuple(fc.nat({ max: emails.length - 1 }), fc.nat({ max: 10 })).map(([index, way]) => {
    const [local, domain] = [emails[index].slice(0, emails[index].lastIndexOf('@')), emails[index].split('@').pop()];
    const bad = [
      `${local}${domain}`,
      `${local}@@${domain}`,
      `${local} x@${domain}`,
      `.${local}@${domain}`,
      `${local}..x@${domain}`,
      `${local}@${domain}.`,
      `${local}@localhost`,
      `${local}@-${domain}`,
      `${'x'.repeat(250)}@${domain}`,
      `ü${local}@${domain}`,
      '',
    ][way];
    return broken(document, ['notifications', 'emails', index], /email/, (copy) => {
      copy.notifications.emails[index] = bad;
    });
  });
};

function otherName(taken: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(databaseName, serverName, oddString).filter((name) => !taken.includes(name));
}

const unknownDependency: Break = (document) => {
  const names: string[] = document.databases.map((db: any) => db.name);
  return fc.tuple(fc.nat({ max: names.length - 1 }), otherName(names), fc.nat()).map(([index, missing, at]) => {
    const dependsOn: string[] = document.databases[index].dependsOn ?? [];
    const position = at % (dependsOn.length + 1);
    return broken(document, ['databases', index, 'dependsOn', position], /^unknown database/, (copy) => {
      copy.databases[index].dependsOn = [...dependsOn.slice(0, position), missing, ...dependsOn.slice(position)];
    });
  });
};

const unknownServer: Break = (document) =>
  fc
    .tuple(fc.nat({ max: document.databases.length - 1 }), fc.constantFrom('source', 'target'))
    .chain(([index, side]) => {
      const known = document[`${side}Servers`].map((server: any) => server.name);
      return otherName(known).map((missing) =>
        broken(document, ['databases', index, side, 'server'], new RegExp(`^unknown ${side} server`), (copy) => {
          copy.databases[index][side].server = missing;
        }),
      );
    });

/** Target kinds against the target server, modes against the kind, resource ids against the kind. */
const inconsistentTarget: Break = (document) => {
  const kinds = ['SqlMi', 'SqlDb', 'SqlVm'];
  const kindOfServer = (name: string) => document.targetServers.find((server: any) => server.name === name).kind;
  return fc
    .tuple(fc.nat({ max: document.databases.length - 1 }), fc.nat({ max: 2 }), fc.nat({ max: 1 }))
    .map(([index, way, pick]) => {
      const db = document.databases[index];
      const kind = kindOfServer(db.target.server);
      const otherKind = kinds.filter((k) => k !== kind)[pick];
      if (way === 0) {
        return broken(document, ['databases', index, 'target', 'kind'], /^is Sql\w+ but target server/, (copy) => {
          copy.databases[index].target.kind = otherKind;
        });
      }
      const server = document.targetServers.findIndex((s: any) => s.name === db.target.server);
      if (way === 1 || kind !== 'SqlDb') {
        return broken(
          document,
          ['targetServers', server, 'resourceId'],
          /^is the id of a Sql\w+ target but kind is/,
          (copy) => {
            copy.targetServers[server].kind = otherKind;
          },
        );
      }
      return broken(document, ['databases', index, 'mode'], /cannot migrate online/, (copy) => {
        copy.databases[index].mode = 'online';
      });
    });
};

const BREAKS: Record<string, Break> = {
  wrongType,
  removedRequiredField,
  emptiedList,
  unknownField,
  duplicateName,
  invalidEmail,
  unknownDependency,
  unknownServer,
  inconsistentTarget,
};

describe('broken generated plans', () => {
  test.each(Object.keys(BREAKS))('%s: a MigrationPlanError naming the field', (name) => {
    fc.assert(
      fc.property(
        smallPlan.chain((document) => BREAKS[name](document)),
        ({ document, path, message }) => {
          const error = planErrorOf(() => parseMigrationPlan(document));
          expectWellFormed(error, '<plan>');
          expectProblemAt(error, path, message);
        },
      ),
      runs(80),
    );
  });
});

/** Dependency edges as `from -> to` (from depends on to). */
function edgesOf(document: any): Set<string> {
  return new Set(
    document.databases.flatMap((db: any) => (db.dependsOn ?? []).map((dep: string) => `${db.name} -> ${dep}`)),
  );
}

/** The plan with a loop through `members` (each depends on the next, the last on the first), at random places in dependsOn. */
const withCycle = (document: any, { independent }: { independent: boolean }) =>
  fc
    .shuffledSubarray([...Array(document.databases.length).keys()], {
      minLength: 1,
      maxLength: Math.min(document.databases.length, 8),
    })
    .chain((members) =>
      fc.array(fc.nat(), { minLength: members.length, maxLength: members.length }).map((positions) => {
        const copy = clone(document);
        if (independent) for (const db of copy.databases) delete db.dependsOn;
        members.forEach((member, i) => {
          const db = copy.databases[member];
          const dependsOn: string[] = db.dependsOn ?? [];
          const at = positions[i] % (dependsOn.length + 1);
          const next = copy.databases[members[(i + 1) % members.length]].name;
          db.dependsOn = [...dependsOn.slice(0, at), next, ...dependsOn.slice(at)];
        });
        return { document: copy, members };
      }),
    );

describe('dependency cycles', () => {
  test('every cycle added to a valid graph is reported as a real loop through the added edges', () => {
    fc.assert(
      fc.property(
        validPlanDocument({ minDatabases: 2, maxDatabases: 30 }).chain((document) =>
          withCycle(document, { independent: false }).map((broken) => ({ ...broken, original: document })),
        ),
        ({ document, members, original }) => {
          const error = planErrorOf(() => parseMigrationPlan(document));
          expectWellFormed(error, '<plan>');
          if (members.length === 1) {
            const db = document.databases[members[0]];
            const at = db.dependsOn.indexOf(db.name);
            expectProblemAt(error, `databases[${members[0]}].dependsOn[${at}]`, /cannot depend on itself/);
            return;
          }
          const edges = edgesOf(document);
          const added = [...edges].filter((edge) => !edgesOf(original).has(edge));
          const loops = error.problems
            .map((problem) => ({
              problem,
              loop: /^dependency cycle: (.+?)(?: \(in the same loop: .*\))?$/.exec(problem.message),
            }))
            .filter(({ loop }) => loop !== null)
            .map(({ problem, loop }) => ({ problem, names: loop![1].split(' -> ') }));
          expect(loops.length).toBeGreaterThan(0);
          for (const { problem, names } of loops) {
            expect(names[0]).toBe(names[names.length - 1]);
            expect(new Set(names.slice(1)).size).toBe(names.length - 1);
            const hops = names.slice(1).map((to, i) => `${names[i]} -> ${to}`);
            for (const hop of hops) expect(edges.has(hop)).toBe(true);
            expect(hops.some((hop) => added.includes(hop))).toBe(true);
            // The problem sits on the first edge of the loop.
            const from = document.databases.findIndex((db: any) => db.name === names[0]);
            expect(problem.path).toBe(
              `databases[${from}].dependsOn[${document.databases[from].dependsOn.indexOf(names[1])}]`,
            );
          }
        },
      ),
      runs(150),
    );
  });

  test('a loop through otherwise independent databases is printed as written, from its first database in plan order', () => {
    fc.assert(
      fc.property(
        validPlanDocument({ minDatabases: 2, maxDatabases: 30 })
          .chain((document) => withCycle(document, { independent: true }))
          .filter(({ members }) => members.length > 1),
        ({ document, members }) => {
          const names = members.map((i) => document.databases[i].name);
          const start = members.indexOf(Math.min(...members));
          const loop = [...names.slice(start), ...names.slice(0, start), names[start]].join(' -> ');
          const error = planErrorOf(() => parseMigrationPlan(document));
          expectWellFormed(error, '<plan>');
          expect(error.problems.map((p) => p.message)).toEqual([`dependency cycle: ${loop}`]);
        },
      ),
      runs(120),
    );
  });
});

/**
 * Several things wrong at once, where user text reaches the messages (odd database and server
 * names in loops, self-dependencies, clashes): still one well-formed line per problem.
 */
const severalBreakages = validPlanDocument({ maxDatabases: 8 })
  .chain((document) =>
    fc
      .constantFrom(inconsistentTarget, duplicateName, unknownDependency, invalidEmail)
      .chain((breakage) => breakage(document)),
  )
  .chain(({ document }) => withCycle(document, { independent: false }))
  .chain(({ document }) =>
    fc
      .array(fc.tuple(fc.constantFrom(...stringFields(document)), oddString), { minLength: 1, maxLength: 3 })
      .map((edits) => edits.reduce((damaged, [path, value]) => withString(damaged, path, value), document)),
  );

describe('several breakages at once', () => {
  test('one well-formed, bounded line per problem', () => {
    fc.assert(
      fc.property(severalBreakages, (document) => {
        expectWellFormed(
          planErrorOf(() => parseMigrationPlan(document)),
          '<plan>',
        );
      }),
      runs(100),
    );
  });
});
