import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AirflowPool } from '../hosts/airflow-host';
import type { MigrationPlan } from '../plan/types';
import { findPackageRoot } from './package-root';

/** The pools contract the DAG's tasks follow (shipped with the DAG). */
export const AIRFLOW_POOLS_CONTRACT_PATH = join('dags', 'migration_orchestration_lib', 'contracts', 'airflow_pools.json');

/** One pool of the contract: a fixed number of slots, or a field of the plan's `concurrency`. */
export interface PoolContractEntry {
  /** Pool name, as the DAG's tasks name it. */
  readonly name: string;
  /** Fixed slots. @default - from `slotsFrom` */
  readonly slots?: number;
  /** `concurrency.<field>` of the plan that gives the slots. @default - `slots` */
  readonly slotsFrom?: string;
  /** The tasks (within a database's group) that run in the pool. */
  readonly tasks: readonly string[];
  /** What the pool bounds. */
  readonly bounds: string;
}

/** Reads `contracts/airflow_pools.json` from this package. */
export function loadPoolsContract(packageRoot: string = findPackageRoot()): readonly PoolContractEntry[] {
  const contract = JSON.parse(readFileSync(join(packageRoot, AIRFLOW_POOLS_CONTRACT_PATH), 'utf8')) as { pools: PoolContractEntry[] };
  return contract.pools;
}

/**
 * The pools of `contract` for a plan's `concurrency`: each pool's slots from the contract, or from
 * the `concurrency` field the contract names (`slotsFrom: "concurrency.<field>"`).
 */
export function poolsOfContract(concurrency: MigrationPlan['concurrency'], contract: readonly PoolContractEntry[]): AirflowPool[] {
  return contract.map((pool) => {
    let slots = pool.slots;
    if (pool.slotsFrom !== undefined) {
      const [section, field] = pool.slotsFrom.split('.');
      const value = section === 'concurrency' ? (concurrency as Readonly<Record<string, unknown>>)[field] : undefined;
      if (typeof value !== 'number') {
        throw new Error(`${AIRFLOW_POOLS_CONTRACT_PATH}: pool ${pool.name} takes its slots from ${pool.slotsFrom}, which the plan does not have`);
      }
      slots = value;
    }
    if (slots === undefined) {
      throw new Error(`${AIRFLOW_POOLS_CONTRACT_PATH}: pool ${pool.name} has neither slots nor slotsFrom`);
    }
    return { name: pool.name, slots, description: `${pool.bounds} (tasks: ${pool.tasks.join(', ')})` };
  });
}
