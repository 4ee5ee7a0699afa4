import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';
import { IGrantee } from '../core/grants';
import { checkGuid } from './prop-checks';

/** The role of an assignment: a built-in role by name, or a role definition by its resource id. */
export type AssignedRole = { readonly roleDefinitionName: string } | { readonly roleDefinitionId: string };

/** One role assignment of a `grantXxx` method: `grantee` gets `role` on `resourceId`. */
export function assignRole(
  scope: Construct,
  id: string,
  grantee: IGrantee,
  assignment: AssignedRole & { readonly resourceId: string; readonly description: string },
): RoleAssignment {
  checkGuid(scope, 'grantee.principalId', grantee.principalId);
  const { resourceId, description, ...role } = assignment;
  return new RoleAssignment(scope, id, {
    scope: resourceId,
    ...role,
    principalId: grantee.principalId,
    principalType: grantee.principalType,
    description,
  });
}
