import { dependable, ITerraformDependable, TerraformResource } from 'cdktf';

/**
 * Adds `dependables` to each resource's `depends_on`, after the construct is made.
 * `node.addDependency` would not reach the JSON: cdktf writes depends_on from `dependsOn` only.
 */
export function waitFor(resources: readonly TerraformResource[], dependables: readonly ITerraformDependable[]): void {
  for (const resource of resources) {
    resource.dependsOn = [...(resource.dependsOn ?? []), ...dependables.map((item) => dependable(item))];
  }
}
