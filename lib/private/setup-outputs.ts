import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { AirflowPool } from '../hosts/airflow-host';
import { withStableName } from './outputs';
import { secretVariables } from './secret-variables';

/**
 * Outputs for what a host cannot configure itself, with stable names (`terraform output -json <name>`):
 * the pools an operator creates in Airflow, and the environment variables an operator sets.
 */
export function poolsToCreateOutput(scope: Construct, pools: readonly AirflowPool[], where: string, options: { readonly importFile?: boolean } = {}): TerraformOutput {
  const output = new TerraformOutput(scope, 'AirflowPools', {
    description:
      `Airflow pools to create in ${where} (Airflow UI, Admin > Pools${options.importFile ? ', or `airflow pools import` of the output airflow_pools_import' : ''}) ` +
      'before the first DAG run: Airflow does not schedule tasks of a pool that does not exist',
    value: pools.map((pool) => ({ ...pool })),
  });
  if (options.importFile) poolsImportOutput(scope, pools);
  return withStableName(output, 'airflow_pools', scope);
}

/**
 * The pools as `airflow pools import` reads them: `{name: {slots, description}}`, not airflow_pools'
 * list, on which it fails (`'list' object has no attribute 'items'`). No `include_deferred`: 2.6.3's
 * import takes a pool only with exactly these two keys (`len(v) == 2`), and later ones default it to false.
 */
export function poolsImportValue(pools: readonly AirflowPool[]): Record<string, { slots: number; description: string }> {
  return Object.fromEntries(pools.map((pool) => [pool.name, { slots: pool.slots, description: pool.description }]));
}

function poolsImportOutput(scope: Construct, pools: readonly AirflowPool[]): TerraformOutput {
  const output = new TerraformOutput(scope, 'AirflowPoolsImport', {
    description:
      'The pools of airflow_pools as `airflow pools import` reads them: `terraform output -json airflow_pools_import > pools.json`, ' +
      'then `airflow pools import pools.json` where your Airflow CLI reaches its metadata database (it creates or updates each pool)',
    value: poolsImportValue(pools),
  });
  return withStableName(output, 'airflow_pools_import', scope);
}

export function environmentToSetOutput(scope: Construct, environment: Readonly<Record<string, string>>, where: string): TerraformOutput {
  const [secret] = secretVariables(environment);
  if (secret !== undefined) {
    throw new Error(
      `${scope.node.path}: environment.${secret}: airflow_environment_variables never lists a secret (an output is printed in the clear, ` +
        `and kept in the Terraform state and the synthesized JSON); set it in ${where} yourself`,
    );
  }
  const output = new TerraformOutput(scope, 'AirflowEnvironmentVariables', {
    description: `Environment variables to set in ${where}: ids and endpoints only (the identity's secret, where it has one, is never here)`,
    value: { ...environment },
  });
  return withStableName(output, 'airflow_environment_variables', scope);
}
