import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/**
 * A Terraform output with a readable, stable name (`<owner id>_<name>`) instead of cdktf's
 * path-and-hash logical id, so `cdktf output` and Terraform Cloud show names people can use.
 */
export function namedOutput(
  scope: Construct,
  name: string,
  props: { value: string | Readonly<Record<string, string>>; description: string; sensitive?: boolean },
): TerraformOutput {
  const output = new TerraformOutput(scope, name, {
    value: props.value,
    description: props.description,
    sensitive: props.sensitive,
  });
  return withStableName(output, `${snake(scope.node.id)}_${snake(name)}`, scope, 'outputs are named after the construct id: give one of them another id');
}

/** The remedy for the fixed names of a host's setup outputs (`airflow_pools`, ...). */
const ONE_HOST_PER_STACK = 'a stack holds the setup outputs of one Airflow host: put each host in a stack of its own';

/** The stable names given so far, per stack, with the path of the output that has each. */
const stableNames = new WeakMap<TerraformStack, Map<string, string>>();

/**
 * Gives `output` the logical id `name`. Two outputs of one name would leave one of them out of the
 * stack without a word (two migration services in one stack under parents with the same child id,
 * two hosts), so the second one is refused, naming both.
 */
export function withStableName(output: TerraformOutput, name: string, owner: Construct, remedy = ONE_HOST_PER_STACK): TerraformOutput {
  const stack = TerraformStack.of(output);
  const names = stableNames.get(stack) ?? new Map<string, string>();
  stableNames.set(stack, names);
  const existing = names.get(name);
  if (existing !== undefined) {
    throw new Error(
      `${owner.node.path}: output "${name}" is already defined by ${existing} (${remedy})`,
    );
  }
  names.set(name, output.node.path);
  output.overrideLogicalId(name);
  return output;
}

function snake(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}
