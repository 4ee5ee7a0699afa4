/** Field paths in messages use JavaScript accessor notation: `databases[2].dependsOn[0]`, `tags["cost-center"]`. */

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 60;

export function formatFieldPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') {
      path += `[${segment}]`;
    } else {
      const key = String(segment);
      if (IDENTIFIER.test(key) && key.length <= MAX_SHOWN) {
        path += path === '' ? key : `.${key}`;
      } else {
        path += `[${JSON.stringify(truncate(key))}]`;
      }
    }
  }
  return path;
}

/** Keeps user-supplied text in messages readable (and bounded) even if it is huge. */
export function truncate(text: string, max = MAX_SHOWN): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `"text"`, truncated and JSON-escaped so control characters stay visible. */
export function quote(text: string): string {
  return JSON.stringify(truncate(text));
}

/** A name from the plan as written when it is a plain identifier, else quoted (so it cannot break lines or run on). */
export function showName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : quote(name);
}
