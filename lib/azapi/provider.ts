import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { IF_GIVEN, requireProps } from '../private/prop-checks';
import { AZAPI_GENERATOR_METADATA } from './generator-metadata';

/** Arguments of the `azapi` provider block that this library sets. */
export interface AzapiProviderConfig {
  /** Provider alias. @default - the default provider */
  readonly alias?: string;
  /** Subscription to deploy into. @default - from the environment (ARM_SUBSCRIPTION_ID / az login) */
  readonly subscriptionId?: string;
}

/** The `Azure/azapi` provider, for Azure resources that azurerm does not cover. */
export class AzapiProvider extends TerraformProvider {
  /** The provider's Terraform type name. */
  public static readonly tfResourceType = 'azapi';

  private _alias?: string;
  private readonly subscriptionId?: string;

  constructor(scope: Construct, id: string, config: AzapiProviderConfig = {}) {
    requireProps(scope, id, 'AzapiProvider', config, { alias: IF_GIVEN.string, subscriptionId: IF_GIVEN.string }, 'new AzapiProvider(scope, id)');
    super(scope, id, {
      terraformResourceType: 'azapi',
      terraformGeneratorMetadata: AZAPI_GENERATOR_METADATA,
      terraformProviderSource: 'Azure/azapi',
    });
    this._alias = config.alias;
    this.subscriptionId = config.subscriptionId;
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
    return { subscription_id: this.subscriptionId };
  }
}
