import { TerraformMetaArguments, TerraformResourceConfig } from 'cdktf';
import { AZAPI_GENERATOR_METADATA } from './generator-metadata';

/** The constructor config of an AzAPI resource: its type plus the meta-arguments the user gave. */
export function azapiResourceConfig(terraformResourceType: string, meta: TerraformMetaArguments): TerraformResourceConfig {
  return {
    terraformResourceType,
    terraformGeneratorMetadata: AZAPI_GENERATOR_METADATA,
    provider: meta.provider,
    dependsOn: meta.dependsOn,
    count: meta.count,
    lifecycle: meta.lifecycle,
    provisioners: meta.provisioners,
    connection: meta.connection,
    forEach: meta.forEach,
  };
}
