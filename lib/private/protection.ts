import type { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { Lazy, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { LockKind, ResourceLock } from '../core/protection';
import { resourceAddress } from './resource-address';
import { warn } from '../core/warnings';

export const LOCK_KINDS: readonly LockKind[] = ['CanNotDelete', 'ReadOnly'];
/** azurerm 4.55 `validate.ManagementLockName`: under 260 characters; Azure refuses these characters in a lock name. */
const LOCK_NAME_MAX = 259;
const LOCK_NAME_FORBIDDEN = /[<>%&:\\?/\u0000-\u001f]/;

/** A resource a lock can go on. */
export interface LockableResource {
  /** ARM id: the lock's scope. */
  readonly id: string;
  /** Name: the default lock name is `lock-<name>`. */
  readonly name: string;
}

/** The management lock `lock` asks for on `resource`, named `lock-<resource name>` unless it names itself. */
export function addLock(scope: Construct, id: string, resource: LockableResource, lock: ResourceLock, notes: string): ManagementLock {
  if (!LOCK_KINDS.includes(lock.kind)) {
    throw new Error(`${scope.node.path}: lock.kind must be one of ${LOCK_KINDS.join(', ')} (got "${lock.kind}")`);
  }
  const name = lock.name ?? `lock-${resource.name}`;
  if (!Token.isUnresolved(name) && (name.length === 0 || name.length > LOCK_NAME_MAX || LOCK_NAME_FORBIDDEN.test(name))) {
    throw new Error(`${scope.node.path}: lock.name "${name}" must be 1 to ${LOCK_NAME_MAX} characters, none of < > % & : \\ ? /`);
  }
  // Loaded only when a lock is asked for (most stacks have none).
  const { ManagementLock } = require('@cdktf/provider-azurerm/lib/management-lock') as typeof import('@cdktf/provider-azurerm/lib/management-lock');
  const managementLock = new ManagementLock(scope, id, { name, scope: resource.id, lockLevel: lock.kind, notes });
  if (lock.kind === 'ReadOnly') {
    // A ReadOnly lock refuses every Azure Resource Manager write under its scope, children and
    // extension resources included (the workspace's table, the vault's diagnostic setting and
    // private endpoint connection, the server's database): it goes on after everything else in the stack.
    const stack = TerraformStack.of(scope);
    managementLock.addOverride(
      'depends_on',
      Lazy.listValue({
        produce: () =>
          stack.node
            .findAll()
            // By cdktf's marker, not instanceof: under CDK Terrain the azurerm provider's resources
            // extend cdktn's class, another copy than the `cdktf` alias this library imports.
            .filter((each): each is TerraformResource => TerraformResource.isTerraformResource(each) && !(each instanceof ManagementLock))
            .map(resourceAddress),
      }),
    );
  }
  return managementLock;
}

/**
 * Adds the lock when one is asked for, and warns when a resource that `prevent_destroy` protects by
 * default was left without it: a throwaway environment may do that on purpose, production should not.
 */
export function applyProtection(
  scope: Construct,
  what: string,
  resource: LockableResource,
  protection: { readonly preventDestroy: boolean; readonly lock?: ResourceLock },
): ManagementLock | undefined {
  if (!protection.preventDestroy) {
    warn(scope, 'migration:secure-default:preventDestroy', `${what} is not protected by prevent_destroy; a destroy deletes it`);
  }
  return protection.lock && addLock(scope, 'Lock', resource, protection.lock, `Protects the ${what} of a database migration from deletion`);
}
