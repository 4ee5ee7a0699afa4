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

/**
 * The stack's default (unaliased) provider block of a type as it synthesizes, overrides included;
 * undefined when the stack has none.
 */
export function defaultProviderBlock(scope: IConstruct, type: string): Record<string, unknown> | undefined {
  const provider = TerraformStack.of(scope)
    .node.findAll()
    .find((node): node is TerraformProvider => TerraformProvider.isTerraformProvider(node) && node.terraformResourceType === type && node.alias === undefined);
  return (provider?.toTerraform() as { provider: Record<string, Record<string, unknown>[]> } | undefined)?.provider[type][0];
}
