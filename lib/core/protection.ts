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

/** A `CanNotDelete` lock named `lock-<resource name>` on one resource. */
export function addDeleteLock(scope: Construct, id: string, resource: { id: string; name: string }, notes: string): ManagementLock {
  return new ManagementLock(scope, id, {
    name: `lock-${resource.name}`,
    scope: resource.id,
    lockLevel: 'CanNotDelete',
    notes,
  });
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
): ManagementLock | undefined {
  if (!protection.preventDestroy) {
    Annotations.of(scope).addWarning(`${scope.node.path}: ${what} is not protected by prevent_destroy; a destroy deletes it`);
  }
  return protection.lock ? addDeleteLock(scope, 'Lock', resource, `Protects the ${what} of a database migration from deletion`) : undefined;
}
