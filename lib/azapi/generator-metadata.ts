/**
 * There are no prebuilt cdktf bindings for the AzAPI provider and `cdktf get` cannot download
 * providers here, so this folder binds the few AzAPI 2.x arguments the library uses, typed after
 * the provider's published schema (Azure/terraform-provider-azapi `docs/resources/*.md`).
 */
export const AZAPI_GENERATOR_METADATA = {
  providerName: 'azapi',
  // >= 2.7.0, < 3.0.0: `terraform validate` checks every body against AzAPI's embedded Azure
  // schema, which first knows Microsoft.DataMigration/sqlMigrationServices@2025-06-30 in 2.7.0;
  // an older 2.x rejects the migration service. Validated against 2.12.0 (`npm run validate`).
  providerVersionConstraint: '~> 2.7',
} as const;
