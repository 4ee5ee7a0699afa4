import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';

/**
 * A Terraform output with a readable, stable name (`<owner id>_<name>`) instead of cdktf's
 * path-and-hash logical id, so `cdktf output` and Terraform Cloud show names people can use.
 */
export function namedOutput(
  scope: Construct,
  name: string,
  props: { value: string; description: string; sensitive?: boolean },
): TerraformOutput {
  const output = new TerraformOutput(scope, name, {
    value: props.value,
    description: props.description,
    sensitive: props.sensitive,
  });
  output.overrideLogicalId(`${snake(scope.node.id)}_${snake(name)}`);
  return output;
}

function snake(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}
