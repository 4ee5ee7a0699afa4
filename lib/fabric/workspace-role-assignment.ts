import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { fabricElementConfig } from './generator-metadata';
import { requireProps } from '../private/prop-checks';

/** Fabric workspace roles, least to most privileged. */
export type FabricWorkspaceRole = 'Viewer' | 'Contributor' | 'Member' | 'Admin';

/** Kinds of Entra ID principal a workspace role can be given to. */
export type FabricPrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'ServicePrincipalProfile';

/** Arguments of `fabric_workspace_role_assignment` (microsoft/fabric 1.13). */
export interface FabricWorkspaceRoleAssignmentConfig extends TerraformMetaArguments {
  /** Fabric id of the workspace (changing it replaces the assignment). */
  readonly workspaceId: string;
  /** Entra ID object id of the principal (changing it replaces the assignment). */
  readonly principalId: string;
  /** Kind of principal (changing it replaces the assignment). */
  readonly principalType: FabricPrincipalType;
  /** Workspace role of the principal. */
  readonly role: FabricWorkspaceRole;
}

/** `fabric_workspace_role_assignment`: one principal's role in a workspace. */
export class FabricWorkspaceRoleAssignment extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'fabric_workspace_role_assignment';

  private readonly config: FabricWorkspaceRoleAssignmentConfig;

  constructor(scope: Construct, id: string, config: FabricWorkspaceRoleAssignmentConfig) {
    requireProps(scope, id, 'FabricWorkspaceRoleAssignment', config, { workspaceId: 'string', principalId: 'string', principalType: 'string', role: 'string' });
    super(scope, id, fabricElementConfig(FabricWorkspaceRoleAssignment.tfResourceType, config));
    this.config = config;
  }

  /** Fabric id of the role assignment. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {
      workspace_id: this.config.workspaceId,
      principal: { id: this.config.principalId, type: this.config.principalType },
      role: this.config.role,
    };
  }
}
