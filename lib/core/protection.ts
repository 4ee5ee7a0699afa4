import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';

/** How a stateful resource is protected from deletion. */
export interface ProtectionProps {
  /** Terraform refuses to plan its destruction (`lifecycle.prevent_destroy`). */
  readonly preventDestroy: boolean;
  /** An Azure `CanNotDelete` management lock, which also stops deletion outside Terraform. */
  readonly lock: boolean;
}

/**
 * Adds the management lock when asked, and warns when a resource that is protected by default
 * was left unprotected: a throwaway environment may do that on purpose, production should not.
 */
export function applyProtection(
  scope: Construct,
  what: string,
  resource: { id: string; name: string },
  protection: ProtectionProps,
  protectedByDefault: boolean,
): ManagementLock | undefined {
  if (protectedByDefault && !protection.preventDestroy) {
    Annotations.of(scope).addWarning(`${scope.node.path}: ${what} is not protected by prevent_destroy; a destroy deletes it`);
  }
  if (!protection.lock) {
    return undefined;
  }
  return new ManagementLock(scope, 'Lock', {
    name: `lock-${resource.name}`,
    scope: resource.id,
    lockLevel: 'CanNotDelete',
    notes: `Protects the ${what} of a database migration from deletion`,
  });
}
