/**
 * The protection vocabulary every construct that creates a stateful resource shares, after Azure
 * Verified Modules (spec RMFR4: the same `lock` interface on every module): `preventDestroy` for
 * Terraform, `lock` for Azure.
 */

/**
 * Azure management lock levels (Microsoft Learn, `ManagementLockLevel`): `CanNotDelete` lets
 * authorized users read and modify the resource but not delete it; `ReadOnly` also refuses every
 * change through Azure Resource Manager, Terraform's own included, until the lock is removed.
 */
export type LockKind = 'CanNotDelete' | 'ReadOnly';

/** An Azure management lock on a resource, which stops deletion from the portal and CLI as well as from Terraform. */
export interface ResourceLock {
  /** What the lock refuses. */
  readonly kind: LockKind;
  /**
   * Name of the lock (at most 259 characters, none of `< > % & : \ ? /`).
   * @default `lock-<resource name>`
   */
  readonly name?: string;
}
