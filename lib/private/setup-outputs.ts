import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { AirflowPool } from '../hosts/airflow-host';
import { withStableName } from './outputs';
import { secretVariables } from './secret-variables';

/**
 * Outputs for what a host cannot configure itself, with stable names (`terraform output -json <name>`):
 * the pools an operator creates in Airflow, and the environment variables an operator sets.
 */
export function poolsToCreateOutput(scope: Construct, pools: readonly AirflowPool[], where: string): TerraformOutput {
  const output = new TerraformOutput(scope, 'AirflowPools', {
    description:
      `Airflow pools to create in ${where} (Airflow UI, Admin > Pools, or \`airflow pools import\`) before the first DAG run: ` +
      'Airflow does not schedule tasks of a pool that does not exist',
    value: pools.map((pool) => ({ ...pool })),
  });
  return withStableName(output, 'airflow_pools', scope);
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
