import type { AirflowPool } from '../hosts/airflow-host';
import type { MigrationPlan } from '../plan/types';
import { readContract } from './package-root';

/** The pools contract the DAG's tasks follow (shipped with the DAG). */
const AIRFLOW_POOLS_CONTRACT = 'airflow_pools.json';

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
export function loadPoolsContract(packageRoot?: string): readonly PoolContractEntry[] {
  return (readContract(AIRFLOW_POOLS_CONTRACT, packageRoot).document as { pools: PoolContractEntry[] }).pools;
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
        throw new Error(`contracts/${AIRFLOW_POOLS_CONTRACT}: pool ${pool.name} takes its slots from ${pool.slotsFrom}, which the plan does not have`);
      }
      slots = value;
    }
    if (slots === undefined) {
      throw new Error(`contracts/${AIRFLOW_POOLS_CONTRACT}: pool ${pool.name} has neither slots nor slotsFrom`);
    }
    return { name: pool.name, slots, description: `${pool.bounds} (tasks: ${pool.tasks.join(', ')})` };
  });
}
