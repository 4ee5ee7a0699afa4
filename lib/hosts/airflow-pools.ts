import { MigrationPlan } from '../plan/types';
import { loadPoolsContract, poolsOfContract } from '../private/pools-contract';
import { requireArgument } from '../private/required-fields';
import { AirflowPool } from './airflow-host';

/**
 * The pools a host creates (or outputs) for this plan, from the pools contract the DAG's tasks
 * follow (`contracts/airflow_pools.json`): each pool's slots fixed there, or taken from the plan's
 * `concurrency`.
 */
export function airflowPools(concurrency: MigrationPlan['concurrency']): AirflowPool[] {
  requireArgument('airflowPools', concurrency, (value) => typeof value === 'object' && value !== null, "the plan's concurrency", 'airflowPools(plan.concurrency)');
  return poolsOfContract(concurrency, loadPoolsContract());
}
