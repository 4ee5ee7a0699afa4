import { TerraformResource, TerraformStack } from 'cdktf';
import { Construct, Node } from 'constructs';

/**
 * Resource addresses an earlier version of `DatabaseMigrationStack` gave the Data Factory Airflow
 * environment it created. Terraform forgets them instead of deleting the environment (a `removed`
 * block), since Microsoft no longer lets anyone create one: adopt it with `airflow.host: dataFactory`.
 */
export const RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES = ['azapi_resource.Orchestration_Airflow_Environment_F7BE4EC1'] as const;

const movedBlocks = new WeakMap<TerraformStack, { from: string; to: string }[]>();

/**
 * A `moved` block from the address Terraform knew `resource` by when it was created with construct
 * id `formerId` directly under `scope`, when the resource now lives elsewhere in the tree (cdktf's
 * allocation reads only the construct ids on the path below the stack, so a path that no longer
 * exists still gets its old logical id). Written as a stack override, not with `moveFromId`: a
 * stack with cdktf's own moves runs `terraform version` in a child process at every synth (about
 * 60 ms of the app's 0.4 s, and synth fails where Terraform is not on PATH).
 */
export function moveFromFormerId(scope: Construct, formerId: string, resource: TerraformResource): void {
  const stack = TerraformStack.of(scope);
  const formerPath = { scopes: [...scope.node.scopes, { node: { id: formerId } }] } as unknown as Node;
  const blocks = movedBlocks.get(stack) ?? [];
  movedBlocks.set(stack, blocks);
  const type = resource.terraformResourceType;
  blocks.push({ from: `${type}.${stack.getLogicalId(formerPath)}`, to: `${type}.${resource.friendlyUniqueId}` });
  stack.addOverride('moved', blocks);
}
