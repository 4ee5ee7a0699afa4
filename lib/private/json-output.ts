import type { TerraformStack } from 'cdktf';

/**
 * The stacks are Terraform JSON. `cdktf synth --hcl` (which sets SYNTH_HCL_OUTPUT, the variable a
 * stack reads to pick its output) renders overrides and tokens inside strings wrongly
 * (hashicorp/terraform-cdk#3365: "Overrides do not contain enough type information, so they may be
 * rendered incorrectly"; #3911): for these stacks it wrote `0 = "required_version"`, quoted
 * `replace_triggered_by` addresses and broken Helm values, which `terraform init` refuses.
 */
export function refuseHclOutput(stack: TerraformStack): void {
  const hcl = process.env.SYNTH_HCL_OUTPUT;
  if (hcl === 'true' || hcl === '1') {
    throw new Error(
      `${stack.node.path}: cdktf synth --hcl is not supported: cdktf's HCL output of this stack is not valid Terraform ` +
        '(its terraform.required_version override, replace_triggered_by addresses and the Helm values; hashicorp/terraform-cdk#3365, #3911). ' +
        'Synthesize without --hcl: Terraform and Terraform Cloud read the JSON (cdk.tf.json) as they read HCL',
    );
  }
}
