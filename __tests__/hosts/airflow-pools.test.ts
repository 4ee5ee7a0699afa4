import { airflowPools } from '../../lib/hosts/airflow-pools';
import { loadPoolsContract, poolsOfContract } from '../../lib/private/pools-contract';

const CONCURRENCY = { maxMigrationsPerService: 10, maxMigrationsPerSourceServer: 2, maxSqlStepsPerRuntime: 7 };

describe('airflowPools', () => {
  it("reads the DAG's pools contract: fixed slots, or slots from the plan's concurrency", () => {
    const pools = airflowPools(CONCURRENCY);
    expect(pools.map(({ name, slots }) => ({ name, slots }))).toEqual([
      { name: 'database_migration_admission', slots: 1 },
      { name: 'database_migration_sql', slots: 7 },
    ]);
    expect(pools[1].description).toMatch(/\(tasks: preflight, freeze_source, final_backup, validate, rollback\)$/);
  });

  it('refuses a contract that names a concurrency field the plan does not have, or no slots at all', () => {
    const [admission] = loadPoolsContract();
    expect(() => poolsOfContract(CONCURRENCY, [{ ...admission, slots: undefined, slotsFrom: 'concurrency.maxSqlSteps' }])).toThrow(
      /pool database_migration_admission takes its slots from concurrency\.maxSqlSteps, which the plan does not have/,
    );
    expect(() => poolsOfContract(CONCURRENCY, [{ ...admission, slots: undefined }])).toThrow(/has neither slots nor slotsFrom/);
  });
});
