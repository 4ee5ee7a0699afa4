/** Any value at all, alone or spliced into a valid plan: a plan or a MigrationPlanError, nothing else, never a hang. */
import fc from 'fast-check';
import { parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { validPlanDocument } from './arbitraries';
import { anyCodePoint } from './code-points';
import { expectWellFormed, outcomeOf, runs } from './outcomes';
import { allPaths, clone, getAt, setAt, type FieldPath } from './plan-paths';

/** Boxed values, Maps, Sets, Dates, typed and sparse arrays, null prototypes, BigInts, unicode. */
const exoticValue = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  stringUnit: anyCodePoint,
});

const anyValue = fc.oneof(exoticValue, fc.jsonValue({ maxDepth: 3 }), fc.object({ maxDepth: 2 }));

/** Whatever parses must also render and parse back to itself. */
function expectPlanOrError(value: unknown, { fieldPaths }: { fieldPaths: boolean }): void {
  const outcome = outcomeOf(() => parseMigrationPlan(value));
  if ('plan' in outcome) {
    expect(parseMigrationPlan(JSON.parse(renderMigrationPlan(outcome.plan)))).toEqual(outcome.plan);
  } else {
    expectWellFormed(outcome.error, '<plan>', { fieldPaths });
  }
}

/** Somewhere to put a value: over an existing field or item, or as a new key or item. */
function splicePoints(document: unknown): FieldPath[] {
  const points: FieldPath[] = [];
  for (const { path, value } of [{ path: [] as FieldPath, value: document }, ...allPaths(document)]) {
    if (path.length > 0) points.push(path);
    if (Array.isArray(value)) points.push([...path, value.length]);
    else if (typeof value === 'object' && value !== null) points.push([...path, 'extra']);
  }
  return points;
}

describe('anything at all', () => {
  test('as the whole plan', () => {
    fc.assert(
      fc.property(anyValue, (value) => expectPlanOrError(value, { fieldPaths: false })),
      runs(400),
    );
  });

  test('spliced into a valid plan, over a field or beside it', () => {
    fc.assert(
      fc.property(
        validPlanDocument({ maxDatabases: 8 }).chain((document) =>
          fc.tuple(
            fc.constant(document),
            fc.array(fc.tuple(fc.constantFrom(...splicePoints(document)), anyValue), { minLength: 1, maxLength: 3 }),
          ),
        ),
        ([document, splices]) => {
          const copy = clone(document);
          for (const [path, value] of splices) {
            const parent = getAt(copy, path.slice(0, -1));
            // Earlier splices may have put a Map, a typed array or a primitive where the parent was.
            if (Array.isArray(parent) || Object.getPrototypeOf(parent ?? 0) === Object.prototype)
              setAt(copy, path, value);
          }
          expectPlanOrError(copy, { fieldPaths: true });
        },
      ),
      runs(300),
    );
  });
});
