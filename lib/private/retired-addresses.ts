import { TerraformResource, TerraformStack } from 'cdktf';
import { Construct, Node } from 'constructs';

/**
 * Resource addresses an earlier version of `DatabaseMigrationStack` gave the Data Factory Airflow
 * environment it created. Terraform forgets them instead of deleting the environment (a `removed`
 * block), since Microsoft no longer lets anyone create one: adopt it with `airflow.host: dataFactory`.
 */
export const RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES = ['azapi_resource.Orchestration_Airflow_Environment_F7BE4EC1'] as const;

/**
 * The address Terraform knew a resource by when it was created with construct id `id` directly
 * under `scope`: for a `moved` block (`resource.moveFromId(...)`) when the resource now lives
 * elsewhere in the tree. cdktf's own allocation reads only the construct ids on the path below the
 * stack, so a path that no longer exists still gets its old logical id.
 */
export function formerAddress(scope: Construct, id: string, resource: TerraformResource): string {
  const formerPath = { scopes: [...scope.node.scopes, { node: { id } }] } as unknown as Node;
  return `${resource.terraformResourceType}.${TerraformStack.of(scope).getLogicalId(formerPath)}`;
}
