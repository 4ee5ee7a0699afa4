import { TerraformResource } from 'cdktf';

/**
 * `<type>.<name>`: the bare address Terraform's JSON syntax wants in `replace_triggered_by`
 * (a `${...}` reference there fails `terraform init` with "Invalid character").
 */
export function resourceAddress(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}
