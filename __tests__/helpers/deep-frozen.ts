/**
 * A value frozen at every level, for a test file that shares one value (a plan, a synthesized stack)
 * across its tests: a test or a construct that changed it throws (test files are strict-mode
 * modules) instead of handing the next test a changed value.
 */
export function deepFrozen<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFrozen);
    Object.freeze(value);
  }
  return value;
}
