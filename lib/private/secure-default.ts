import { Annotations } from 'cdktf';
import { Construct } from 'constructs';

/**
 * Returns the user's value, or the secure default when none was given, and leaves a synth
 * warning when the user chose something weaker: overriding is allowed, silence is not.
 */
export function secureDefault<T>(
  scope: Construct,
  propName: string,
  given: T | undefined,
  secure: T,
  isWeaker: (value: T) => boolean = (value) => value !== secure,
): T {
  if (given === undefined) {
    return secure;
  }
  if (isWeaker(given)) {
    Annotations.of(scope).addWarning(
      `${propName} is ${JSON.stringify(given)}, weaker than the secure default ${JSON.stringify(secure)}`,
    );
  }
  return given;
}
