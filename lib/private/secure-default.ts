import { Construct } from 'constructs';
import { SecureDefaultProp, warn } from '../core/warnings';

/**
 * Returns the user's value, or the secure default when none was given, and leaves a synth
 * warning (`migration:secure-default:<prop>`) when the user chose something weaker: overriding is
 * allowed, silence is not.
 */
export function secureDefault<T>(
  scope: Construct,
  propName: SecureDefaultProp,
  given: T | undefined,
  secure: T,
  isWeaker: (value: T) => boolean = (value) => value !== secure,
): T {
  if (given === undefined) {
    return secure;
  }
  if (isWeaker(given)) {
    warn(scope, `migration:secure-default:${propName}`, `${propName} is ${JSON.stringify(given)}, weaker than the secure default ${JSON.stringify(secure)}`);
  }
  return given;
}
