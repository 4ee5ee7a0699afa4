import { TerraformResource } from 'cdktf';
import { Construct } from 'constructs';

/**
 * Terraform's built-in `terraform_data` resource, holding values whose change forces a
 * replacement. cdktf's own `DataResource` adds a validation that runs `terraform version` in a
 * child process on every synth (about 0.1 s) and fails where no terraform binary is installed;
 * synthesizing must need neither.
 */
export class TerraformData extends TerraformResource {
  public static readonly tfResourceType = 'terraform_data';

  private readonly triggers: Readonly<Record<string, string>>;

  /** @param triggersReplace values whose change replaces this resource (and whatever is `replace_triggered_by` it) */
  constructor(scope: Construct, id: string, triggersReplace: Readonly<Record<string, string>>) {
    super(scope, id, {
      terraformResourceType: TerraformData.tfResourceType,
      terraformGeneratorMetadata: { providerName: 'terraform' },
    });
    this.triggers = triggersReplace;
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { triggers_replace: { ...this.triggers } };
  }
}
