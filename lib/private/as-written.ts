import { DefaultTokenResolver, IPostProcessor, IResolvable, IResolveContext, StringConcat, TerraformStack, Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';

/**
 * Resolves each reference in the stack that holds what it refers to, so that it reads as that
 * resource's own attribute (`azurerm_data_factory.x.id`) in every stack: once the app's stacks are
 * prepared, a reference used in another stack resolves there to its remote state output instead,
 * and would not compare equal to the same attribute read in its own stack.
 */
class OwnStackResolver extends DefaultTokenResolver {
  public resolveToken(token: IResolvable, context: IResolveContext, postProcessor: IPostProcessor): unknown {
    // cdktf's references keep the stack they were made in (`originStack`, not in its typings).
    const origin = (token as { originStack?: unknown }).originStack;
    return super.resolveToken(token, TerraformStack.isStack(origin) ? { ...context, scope: origin } : context, postProcessor);
  }
}

/**
 * `value` as Terraform writes it, each reference as its own stack writes it
 * (`${azurerm_key_vault.x.vault_uri}`), without registering a cross-stack reference: two reads of
 * one attribute, each another token, compare equal this way, before and after the app's stacks are
 * prepared, in whatever stack each side is used.
 */
export function asWritten(scope: IConstruct, value: unknown): unknown {
  return Tokenization.resolve(value, { scope, preparing: false, resolver: new OwnStackResolver(new StringConcat()) });
}

/** A whole value that is one attribute of a resource the app manages (not a lookup, variable or expression). */
const MANAGED_ATTRIBUTE = /^\$\{(?!(?:data|var|local|module)\.)[A-Za-z0-9_-]+\.[^.{}\s]+\.[^{}\s]+\}$/;

/**
 * Whether two values, as written ({@link asWritten}), certainly name different things before
 * apply: two literals that differ, or attributes of two resources the app manages. A literal
 * against a reference, or a lookup (data source), variable or expression, may be the same at apply.
 */
export function certainlyDiffer(a: unknown, b: unknown): boolean {
  if (a === b || typeof a !== 'string' || typeof b !== 'string') return false;
  const literal = (value: string) => !value.includes('${');
  return (literal(a) && literal(b)) || (MANAGED_ATTRIBUTE.test(a) && MANAGED_ATTRIBUTE.test(b));
}
