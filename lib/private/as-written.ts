import { DefaultTokenResolver, StringConcat, Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';

/**
 * `value` as Terraform writes it in `scope`'s stack (`${azurerm_key_vault.x.vault_uri}` for a
 * reference), without registering a cross-stack reference: two reads of one attribute, each another
 * token, compare equal this way.
 */
export function asWritten(scope: IConstruct, value: unknown): unknown {
  return Tokenization.resolve(value, { scope, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) });
}
