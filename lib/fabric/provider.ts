import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { IF_GIVEN, requireProps } from '../private/prop-checks';
import { FABRIC_GENERATOR_METADATA } from './generator-metadata';

/**
 * Arguments of the `fabric` provider block that this library sets. Credentials are never
 * arguments here: the provider reads them from the environment (`FABRIC_*`/`ARM_*`, an OIDC
 * token, or the Azure CLI login).
 */
export interface FabricProviderConfig {
  /** Provider alias. @default - the default provider */
  readonly alias?: string;
  /** Entra ID tenant the Fabric API is called in. @default - from the environment or the Azure CLI login */
  readonly tenantId?: string;
  /** Let the provider use the Azure CLI login. @default - the provider's default (`FABRIC_USE_CLI`) */
  readonly useCli?: boolean;
  /** Let the provider use an OIDC token (workload identity federation, for example GitHub Actions). @default - the provider's default (`FABRIC_USE_OIDC`) */
  readonly useOidc?: boolean;
  /** Let the provider use a managed identity. @default - the provider's default (`FABRIC_USE_MSI`) */
  readonly useMsi?: boolean;
}

/** The `microsoft/fabric` provider: Fabric workspaces and items, which azurerm does not cover. */
export class FabricProvider extends TerraformProvider {
  /** The provider's Terraform type name. */
  public static readonly tfResourceType = 'fabric';

  private _alias?: string;
  private readonly config: FabricProviderConfig;

  constructor(scope: Construct, id: string, config: FabricProviderConfig = {}) {
    requireProps(
      scope,
      id,
      'FabricProvider',
      config,
      { alias: IF_GIVEN.string, tenantId: IF_GIVEN.string, useCli: IF_GIVEN.boolean, useOidc: IF_GIVEN.boolean, useMsi: IF_GIVEN.boolean },
      'new FabricProvider(scope, id)',
    );
    super(scope, id, {
      terraformResourceType: FabricProvider.tfResourceType,
      terraformGeneratorMetadata: FABRIC_GENERATOR_METADATA,
      terraformProviderSource: 'microsoft/fabric',
    });
    this._alias = config.alias;
    this.config = config;
  }

  /** Provider alias, for resources that select this provider by `provider`; undefined for the default provider. */
  public get alias(): string | undefined {
    return this._alias;
  }

  /** Sets the provider alias. */
  public set alias(value: string | undefined) {
    this._alias = value;
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {
      tenant_id: this.config.tenantId,
      use_cli: this.config.useCli,
      use_oidc: this.config.useOidc,
      use_msi: this.config.useMsi,
    };
  }
}
