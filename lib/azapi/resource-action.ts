import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { azapiResourceConfig } from './meta-arguments';
import { AzapiBody } from './resource';
import { requireProps, IF_GIVEN } from '../private/prop-checks';

/** Arguments of an ARM action that the `azapi_resource_action` resource and data source share. */
export interface AzapiActionArguments extends TerraformMetaArguments {
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
  readonly method?: string;
  /**
   * Request body of the action.
   * @default - no body
   */
  readonly body?: AzapiBody;
  /** Response paths exported to `output`. @default [] */
  readonly responseExportValues?: readonly string[] | { readonly [name: string]: string };
  /** Response paths exported to the sensitive `sensitive_output` (AzAPI 2.3.0 and later). @default - none */
  readonly sensitiveResponseExportValues?: readonly string[] | { readonly [name: string]: string };
}

/** Arguments of `azapi_resource_action` (AzAPI 2.x) that this library uses. */
export interface AzapiResourceActionConfig extends AzapiActionArguments {
  /**
   * HTTP method of the action.
   * @default "POST"
   */
  readonly method?: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** `apply` or `destroy`. @default "apply" */
  readonly when?: 'apply' | 'destroy';
}

/** How `requireProps` checks the shared arguments. */
export const AZAPI_ACTION_ARGUMENT_KINDS = {
  type: 'string',
  resourceId: 'string',
  action: 'string',
  method: IF_GIVEN.string,
  body: IF_GIVEN.map,
  responseExportValues: IF_GIVEN.listOrMap,
  sensitiveResponseExportValues: IF_GIVEN.listOrMap,
} as const;

/** The shared arguments as Terraform names them. */
export function azapiActionAttributes(c: AzapiActionArguments): { [name: string]: unknown } {
  return {
    type: c.type,
    resource_id: c.resourceId,
    action: c.action,
    method: c.method,
    body: c.body,
    response_export_values: c.responseExportValues ?? [],
    sensitive_response_export_values: c.sensitiveResponseExportValues,
  };
}

/** `azapi_resource_action`: an ARM action (POST) on an existing resource, called when it is created or its arguments change. */
export class AzapiResourceAction extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'azapi_resource_action';

  private readonly config: AzapiResourceActionConfig;

  constructor(scope: Construct, id: string, config: AzapiResourceActionConfig) {
    requireProps(scope, id, 'AzapiResourceAction', config, { ...AZAPI_ACTION_ARGUMENT_KINDS, when: IF_GIVEN.string });
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
    return { ...azapiActionAttributes(this.config), when: this.config.when };
  }
}
