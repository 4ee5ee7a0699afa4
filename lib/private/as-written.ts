import { DefaultTokenResolver, IPostProcessor, IResolvable, IResolveContext, StringConcat, TerraformStack, Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';

/**
 * Resolves each reference in the stack that holds what it refers to, so that it reads as that
 * resource's own attribute (`azurerm_data_factory.x.id`) in every stack: once the app's stacks are
 * prepared, a reference used in another stack resolves there to its remote state output instead,
 * and would not compare equal to the same attribute read in its own stack. A reference to another
 * stack than `home` reads with that stack's path before it (`other/azurerm_data_factory.x.id`):
 * two stacks may each hold a resource of one name, and those are two resources.
 */
class OwnStackResolver extends DefaultTokenResolver {
  constructor(private readonly home: TerraformStack) {
    super(new StringConcat());
  }

  public resolveToken(token: IResolvable, context: IResolveContext, postProcessor: IPostProcessor): unknown {
    // cdktf's references keep the stack they were made in (`originStack`, not in its typings).
    const origin = (token as { originStack?: unknown }).originStack;
    if (!TerraformStack.isStack(origin)) return super.resolveToken(token, context, postProcessor);
    const resolved = super.resolveToken(token, { ...context, scope: origin }, postProcessor);
    if (origin === this.home || typeof resolved !== 'string') return resolved;
    const stack = `${origin.node.path}/`;
    return resolved.startsWith('${') ? `\${${stack}${resolved.slice(2)}` : `${stack}${resolved}`;
  }
}

/**
 * `value` as Terraform writes it, each reference as its own stack writes it
 * (`${azurerm_key_vault.x.vault_uri}`, and `${other/azurerm_key_vault.x.vault_uri}` for one in stack
 * `other` when `scope` is in another), without registering a cross-stack reference: two reads of
 * one attribute, each another token, compare equal this way, before and after the app's stacks are
 * prepared, in whatever stack each side is used; same-named resources of two stacks do not.
 */
export function asWritten(scope: IConstruct, value: unknown): unknown {
  return Tokenization.resolve(value, { scope, preparing: false, resolver: new OwnStackResolver(TerraformStack.of(scope)) });
}

/**
 * A whole value that is one attribute of a resource the app manages (not a lookup, variable or
 * expression), in `scope`'s stack or another ({@link asWritten}: `${other/azurerm_x.y.z}`). A stack's
 * id may hold dots (`${prod.eu/data.x.y.z}`), so the resource's name holds no `/`: the stack path
 * cannot be read as part of it.
 */
const MANAGED_ATTRIBUTE = /^\$\{(?:[^/{}\s()[\],"]+\/)*(?!(?:data|var|local|module)\.)[A-Za-z0-9_-]+\.[^./{}\s]+\.[^{}\s]+\}$/;

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
