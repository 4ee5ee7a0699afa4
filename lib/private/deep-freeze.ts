/**
 * A value frozen at every level, returned: what is shared (a plan by every construct and the renderer, a
 * fixture by every test of a file) cannot be changed by one user under another's view.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
