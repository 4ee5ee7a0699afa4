import { TerraformDataSource, TerraformMetaArguments } from 'cdktf';
import { Construct } from 'constructs';
import { fabricElementConfig } from './generator-metadata';
import { requireProps } from '../private/prop-checks';

/** Arguments of the `fabric_capacity` data source (microsoft/fabric 1.13). */
export interface DataFabricCapacityConfig extends TerraformMetaArguments {
  /** Display name of the capacity: the name of its `Microsoft.Fabric/capacities` ARM resource. */
  readonly displayName: string;
}

/**
 * `fabric_capacity` data source: a capacity's Fabric id (GUID), which `fabric_workspace` needs,
 * from its name. The caller must be a capacity administrator or contributor.
 */
export class DataFabricCapacity extends TerraformDataSource {
  /** The data source's Terraform type name. */
  public static readonly tfResourceType = 'fabric_capacity';

  private readonly config: DataFabricCapacityConfig;

  constructor(scope: Construct, id: string, config: DataFabricCapacityConfig) {
    requireProps(scope, id, 'DataFabricCapacity', config, { displayName: 'string' });
    super(scope, id, fabricElementConfig(DataFabricCapacity.tfResourceType, config));
    this.config = config;
  }

  /** Fabric id (GUID) of the capacity. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** `Active` or `Inactive` (a paused capacity runs nothing). */
  public get state(): string {
    return this.getStringAttribute('state');
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { display_name: this.config.displayName };
  }
}
