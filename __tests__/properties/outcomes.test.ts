/**
 * The harness of every property (outcomes.ts): all cases run however slow the machine, a failure
 * replays from what its log prints, a hang is CPU time spent, not time waited.
 */
import fc from 'fast-check';
import type { MigrationPlan } from '../../lib/plan';
import { HANG_MS, outcomeOf, runs } from './outcomes';

/** fast-check reads the clock it finds when it loads: load it, and the harness, under jest's fake one. */
function underFakeClock() {
  jest.useFakeTimers();
  let loaded!: { fc: typeof fc; outcomes: typeof import('./outcomes') };
  jest.isolateModules(() => {
    loaded = { fc: jest.requireActual('fast-check'), outcomes: jest.requireActual('./outcomes') };
  });
  return loaded;
}

afterEach(() => jest.useRealTimers());

describe('runs()', () => {
  test('runs every case, however long they take together', () => {
    const { fc, outcomes } = underFakeClock();
    const slowCase = fc.property(fc.nat(), () => {
      jest.advanceTimersByTime(outcomes.SHRINK_TIME_LIMIT_MS / 10);
    });
    expect(fc.check(slowCase, outcomes.runs(100, {}))).toMatchObject({ failed: false, interrupted: false, numRuns: 100 });
  });

  test('stops shrinking a failure after the time box, and reports it as a failure', () => {
    const { fc, outcomes } = underFakeClock();
    let runsSinceFailure: number | undefined;
    const slowFailure = fc.property(fc.array(fc.nat(), { minLength: 20 }), (values) => {
      jest.advanceTimersByTime(outcomes.SHRINK_TIME_LIMIT_MS / 4);
      if (runsSinceFailure !== undefined) runsSinceFailure++;
      if (values.length >= 10) {
        runsSinceFailure ??= 0;
        throw new Error('too long');
      }
    });
    const details = fc.check(slowFailure, outcomes.runs(100, {}));
    expect(details).toMatchObject({ failed: true, interrupted: true });
    const [shrunk] = details.counterexample as [number[]];
    expect(shrunk.length).toBeGreaterThanOrEqual(10);
    expect(runsSinceFailure).toBeLessThanOrEqual(4);
  });

  test('replays a failure from the seed and path its report prints (FC_SEED, FC_PATH)', () => {
    const bigSum = fc.property(fc.array(fc.integer()), (values) => {
      if (values.reduce((sum, value) => sum + value, 0) > 1000) throw new Error('sum over 1000');
    });
    const first = fc.check(bigSum, runs(100, {}));
    const report = fc.defaultReportMessage(first) ?? '';
    const [, seed, path] = /\{ seed: (-?\d+), path: "([\d:]+)"/.exec(report) ?? [];
    expect(seed).toBeDefined();

    const replayed = fc.check(bigSum, runs(100, { FC_SEED: seed, FC_PATH: path }));
    expect(replayed).toMatchObject({ failed: true, numRuns: 1, numShrinks: 0, counterexample: first.counterexample });
    const rerun = fc.check(bigSum, runs(100, { FC_SEED: seed }));
    expect(rerun).toMatchObject({ failed: true, counterexample: first.counterexample, counterexamplePath: path });
  });

  test('refuses a seed or path that is not as a report prints it', () => {
    expect(() => runs(1, { FC_SEED: 'abc' })).toThrow('FC_SEED must be the integer a failure printed as "seed", got "abc"');
    expect(() => runs(1, { FC_SEED: '1', FC_PATH: '3,1' })).toThrow('FC_PATH must be the numbers a failure printed as "path"');
    expect(() => runs(1, { FC_PATH: '3:1' })).toThrow('FC_PATH replays a failure of the seed FC_SEED');
  });
});

describe('outcomeOf()', () => {
  const plan = {} as MigrationPlan;

  test('a load that waits (for a busy machine) is no hang', () => {
    const waited = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HANG_MS + 200);
    expect(outcomeOf(() => (waited(), plan))).toEqual({ plan });
  });

  test('a load that computes for longer is a hang', () => {
    const spentSince = (previous?: NodeJS.CpuUsage) => (previous ? { user: HANG_MS * 1000, system: 1000 } : { user: 0, system: 0 });
    jest.spyOn(process, 'cpuUsage').mockImplementation(spentSince);
    try {
      expect(() => outcomeOf(() => plan)).toThrow(/^the loader took 2001 ms of CPU time$/);
    } finally {
      jest.restoreAllMocks();
    }
  });
});
