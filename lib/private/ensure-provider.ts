import { TerraformProvider, TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';

/** The stack's provider of this class, created by `create` on first use, so a construct works in any stack. */
export function ensureProvider<T extends TerraformProvider>(
  scope: IConstruct,
  type: abstract new (...args: never[]) => T,
  create: (stack: TerraformStack) => T,
): T {
  const stack = TerraformStack.of(scope);
  return stack.node.children.find((child): child is T => child instanceof type) ?? create(stack);
}
