/**
 * A synth validates one plan and one events contract: zod's fast path, which compiles each object
 * schema into a function (`new Function`) on first use, costs the app more than it saves for one
 * document (bench/RESULTS.md), so these parses run without it. Seen here as no function compiled.
 */
import { join } from 'node:path';
import { loadMigrationEventsContract } from '../../lib/monitoring/migration-events-contract';
import { loadMigrationPlan } from '../../lib/plan';

/** Runs `body` with the global Function constructor counting the functions built from source text. */
function compiledFunctions(body: () => void): number {
  const original = globalThis.Function;
  let compiled = 0;
  globalThis.Function = new Proxy(original, {
    construct(target, args: unknown[]) {
      if (args.length > 0 && String(args[args.length - 1]).trim() !== '') compiled++;
      return Reflect.construct(target, args);
    },
  });
  try {
    body();
  } finally {
    globalThis.Function = original;
  }
  return compiled;
}

test.each(['three-databases.yaml', 'sql-database.json', 'fabric-host.yaml'])('loading examples/%s compiles no function', (example) => {
  expect(compiledFunctions(() => loadMigrationPlan(join(__dirname, '..', '..', 'examples', example)))).toBe(0);
});

test('reading the migration events contract compiles no function', () => {
  expect(compiledFunctions(() => loadMigrationEventsContract())).toBe(0);
});
