import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { azapiResourceConfig } from './meta-arguments';
import { IF_GIVEN, PASSED_ON_STRINGS, requireProps } from '../private/prop-checks';

/** A JSON-like request body; strings may hold Terraform references. */
export type AzapiBody = { readonly [key: string]: unknown };

/** Managed identity of an `azapi_resource`. */
export interface AzapiResourceIdentity {
  /** Which managed identities the resource has. */
  readonly type: 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned' | 'None';
  /**
   * ARM ids of the user-assigned identities (with a `UserAssigned` type).
   * @default - none
   */
  readonly identityIds?: readonly string[];
}

/** Arguments of `azapi_resource` (AzAPI 2.x) that this library uses. */
export interface AzapiResourceConfig extends TerraformMetaArguments {
  /** `<resource type>@<api version>`, for example `Microsoft.DataMigration/sqlMigrationServices@2025-06-30`. */
  readonly type: string;
  /** Resource name. */
  readonly name: string;
  /** ARM id of the resource group, parent resource or extension scope. */
  readonly parentId: string;
  /**
   * Azure region.
   * @default - none (child and extension resources have no location)
   */
  readonly location?: string;
  /**
   * Request body: the resource's ARM properties (without `name`, `location`, `identity` and `tags`).
   * @default {}
   */
  readonly body?: AzapiBody;
  /**
   * Write-only properties merge-patched into `body`; never stored in state or plan
   * (Terraform 1.11+). Use it for secrets.
   * @default - none
   */
  readonly sensitiveBody?: AzapiBody;
  /** Bump a path's version to resend that write-only property. @default - none */
  readonly sensitiveBodyVersion?: { readonly [path: string]: string };
  /**
   * Managed identity of the resource.
   * @default - none
   */
  readonly identity?: AzapiResourceIdentity;
  /**
   * Resource tags.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** Validate `type` and `body` against AzAPI's embedded schema; turn off only for a type the schema lacks. @default true */
  readonly schemaValidationEnabled?: boolean;
  /** Paths of the response exported to `output` (AVM TFFR4: always set). @default [] */
  readonly responseExportValues?: readonly string[] | { readonly [name: string]: string };
}

/** `azapi_resource`: any ARM resource by type and API version. */
export class AzapiResource extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'azapi_resource';

  private readonly config: AzapiResourceConfig;

  constructor(scope: Construct, id: string, config: AzapiResourceConfig) {
    requireProps(scope, id, 'AzapiResource', config, {
      type: 'string',
      name: 'string',
      parentId: 'string',
      location: IF_GIVEN.string,
      body: IF_GIVEN.map,
      sensitiveBody: IF_GIVEN.map,
      sensitiveBodyVersion: IF_GIVEN.map,
      identity: { ifGiven: { type: 'string', identityIds: PASSED_ON_STRINGS } },
      tags: IF_GIVEN.map,
      schemaValidationEnabled: IF_GIVEN.boolean,
      responseExportValues: IF_GIVEN.listOrMap,
    });
    super(scope, id, azapiResourceConfig(AzapiResource.tfResourceType, config));
    this.config = config;
  }

  /** ARM id of the resource. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** A value of the response exported through `responseExportValues`, by path. */
  public outputValue(path: string): string {
    return this.getStringAttribute(`output.${path}`);
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    const c = this.config;
    return {
      type: c.type,
      name: c.name,
      parent_id: c.parentId,
      location: c.location,
      body: c.body ?? {},
      sensitive_body: c.sensitiveBody,
      sensitive_body_version: c.sensitiveBodyVersion,
      identity: c.identity && { type: c.identity.type, identity_ids: c.identity.identityIds },
      tags: c.tags,
      schema_validation_enabled: c.schemaValidationEnabled,
      response_export_values: c.responseExportValues ?? [],
    };
  }
}
