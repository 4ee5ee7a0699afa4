import { TerraformStack } from 'cdktf';
import type { IConstruct } from 'constructs';

/**
 * The oldest Terraform the stacks are validated with (`npm run validate`), and the first that knows
 * write-only arguments (`*_wo`, `data_wo`): an older Terraform would not know an argument is
 * write-only and would keep the Kubernetes host's generated secrets in the state.
 */
export const REQUIRED_TERRAFORM_VERSION = '>= 1.11.0';

/** Declares `terraform.required_version` on the stack of `scope`, so an older Terraform stops at init with its own message. */
export function requireTerraformVersion(scope: IConstruct): void {
  TerraformStack.of(scope).addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);
}
