import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { azapiResourceConfig } from './meta-arguments';
import { AzapiBody } from './resource';
import { requireProps, IF_GIVEN } from '../private/prop-checks';

/** Arguments of `azapi_resource_action` (AzAPI 2.x) that this library uses. */
export interface AzapiResourceActionConfig extends TerraformMetaArguments {
  /** `<resource type>@<api version>` of the resource acted on. */
  readonly type: string;
  /** ARM id of the resource acted on. */
  readonly resourceId: string;
  /** Action name appended to the resource id, for example `listAuthKeys`. */
  readonly action: string;
  /**
   * HTTP method of the action.
   * @default "POST"
   */
  readonly method?: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /**
   * Request body of the action.
   * @default - no body
   */
  readonly body?: AzapiBody;
  /** Response paths exported to `output`. @default [] */
  readonly responseExportValues?: readonly string[] | { readonly [name: string]: string };
  /** Response paths exported to the sensitive `sensitive_output`. @default - none */
  readonly sensitiveResponseExportValues?: readonly string[] | { readonly [name: string]: string };
  /** `apply` or `destroy`. @default "apply" */
  readonly when?: 'apply' | 'destroy';
}

/** `azapi_resource_action`: an ARM action (POST) on an existing resource. */
export class AzapiResourceAction extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'azapi_resource_action';

  private readonly config: AzapiResourceActionConfig;

  constructor(scope: Construct, id: string, config: AzapiResourceActionConfig) {
    requireProps(scope, id, 'AzapiResourceAction', config, {
      type: 'string',
      resourceId: 'string',
      action: 'string',
      method: IF_GIVEN.string,
      body: IF_GIVEN.map,
      when: IF_GIVEN.string,
      responseExportValues: IF_GIVEN.listOrMap,
      sensitiveResponseExportValues: IF_GIVEN.listOrMap,
    });
    super(scope, id, azapiResourceConfig(AzapiResourceAction.tfResourceType, config));
    this.config = config;
  }

  /** Terraform id of the action. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** A value exported through `responseExportValues`. */
  public outputValue(path: string): string {
    return this.getStringAttribute(`output.${path}`);
  }

  /** A value exported through `sensitiveResponseExportValues` (sensitive in Terraform). */
  public sensitiveOutputValue(path: string): string {
    return this.getStringAttribute(`sensitive_output.${path}`);
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    const c = this.config;
    return {
      type: c.type,
      resource_id: c.resourceId,
      action: c.action,
      method: c.method,
      body: c.body,
      response_export_values: c.responseExportValues ?? [],
      sensitive_response_export_values: c.sensitiveResponseExportValues,
      when: c.when,
    };
  }
}
