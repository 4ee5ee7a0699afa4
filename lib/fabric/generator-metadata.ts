import { TerraformMetaArguments, TerraformResourceConfig } from 'cdktf';

/**
 * No prebuilt cdktf bindings exist for the microsoft/fabric provider and `cdktf get` cannot
 * download providers here, so this folder binds the few resources the Fabric host uses, typed
 * after the provider's schema (`terraform providers schema -json` of microsoft/fabric 1.13.0;
 * microsoft/terraform-provider-fabric `docs/resources/*.md`).
 */
export const FABRIC_GENERATOR_METADATA = {
  providerName: 'fabric',
  providerVersionConstraint: '~> 1.13',
} as const;

/** The constructor config of a Fabric resource or data source: its type plus the meta-arguments the user gave. */
export function fabricElementConfig(terraformResourceType: string, meta: TerraformMetaArguments): TerraformResourceConfig {
  const { provider, dependsOn, count, lifecycle, provisioners, connection, forEach } = meta;
  return {
    terraformResourceType,
    terraformGeneratorMetadata: FABRIC_GENERATOR_METADATA,
    provider,
    dependsOn,
    count,
    lifecycle,
    provisioners,
    connection,
    forEach,
  };
}
