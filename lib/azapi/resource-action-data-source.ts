import { TerraformDataSource } from 'cdktf';
import { Construct } from 'constructs';
import { azapiResourceConfig } from './meta-arguments';
import { AzapiActionArguments, AZAPI_ACTION_ARGUMENT_KINDS, azapiActionAttributes } from './resource-action';
import { requireProps } from '../private/prop-checks';

/** Arguments of the `azapi_resource_action` data source (AzAPI 2.x) that this library uses. */
export interface DataAzapiResourceActionConfig extends AzapiActionArguments {
  /**
   * HTTP method of the action: the data source takes only these two.
   * @default "POST"
   */
  readonly method?: 'POST' | 'GET';
}

/**
 * `data "azapi_resource_action"`: an ARM action Terraform calls on every plan and refresh, for what
 * must be current when read (keys that can be regenerated). The `azapi_resource_action` resource
 * calls its action only when it is created or its arguments change, and keeps that answer.
 */
export class DataAzapiResourceAction extends TerraformDataSource {
  /** The data source's Terraform type name. */
  public static readonly tfResourceType = 'azapi_resource_action';

  private readonly config: DataAzapiResourceActionConfig;

  constructor(scope: Construct, id: string, config: DataAzapiResourceActionConfig) {
    requireProps(scope, id, 'DataAzapiResourceAction', config, AZAPI_ACTION_ARGUMENT_KINDS);
    super(scope, id, azapiResourceConfig(DataAzapiResourceAction.tfResourceType, config));
    this.config = config;
  }

  /** A value exported through `sensitiveResponseExportValues` (sensitive in Terraform). */
  public sensitiveOutputValue(path: string): string {
    return this.getStringAttribute(`sensitive_output.${path}`);
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return azapiActionAttributes(this.config);
  }
}
