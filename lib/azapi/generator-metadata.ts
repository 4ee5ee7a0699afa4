/**
 * There are no prebuilt cdktf bindings for the AzAPI provider and `cdktf get` cannot download
 * providers here, so this folder binds the few AzAPI 2.x arguments the library uses, typed after
 * the provider's published schema (Azure/terraform-provider-azapi `docs/resources/*.md`).
 */
export const AZAPI_GENERATOR_METADATA = {
  providerName: 'azapi',
  providerVersionConstraint: '~> 2.5',
} as const;
