import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { fabricElementConfig } from './generator-metadata';
import { requireProps, IF_GIVEN } from '../private/prop-checks';

/** Arguments of `fabric_workspace` (microsoft/fabric 1.13) that this library uses. */
export interface FabricWorkspaceConfig extends TerraformMetaArguments {
  /** Workspace display name, at most 256 characters, unique in the tenant. */
  readonly displayName: string;
  /**
   * Workspace description, at most 4000 characters.
   * @default ""
   */
  readonly description?: string;
  /**
   * Fabric id (a GUID, not the ARM id) of the capacity the workspace runs on; see `DataFabricCapacity`.
   * @default - no capacity: Fabric items such as Apache Airflow jobs cannot be created
   */
  readonly capacityId?: string;
}

/** `fabric_workspace`: a Fabric workspace, optionally assigned to a capacity. */
export class FabricWorkspace extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'fabric_workspace';

  private readonly config: FabricWorkspaceConfig;

  constructor(scope: Construct, id: string, config: FabricWorkspaceConfig) {
    requireProps(scope, id, 'FabricWorkspace', config, { displayName: 'string', description: IF_GIVEN.string, capacityId: IF_GIVEN.string });
    super(scope, id, fabricElementConfig(FabricWorkspace.tfResourceType, config));
    this.config = config;
  }

  /** Fabric id (GUID) of the workspace. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {
      display_name: this.config.displayName,
      description: this.config.description,
      capacity_id: this.config.capacityId,
    };
  }
}
