/** Field paths in messages use JavaScript accessor notation: `databases[2].dependsOn[0]`, `tags["cost-center"]`. */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 60;

export function formatFieldPath(segments: readonly PropertyKey[]): string {
  const parts = segments.map((segment, i) => {
    if (typeof segment === 'number') return `[${segment}]`;
    const key = String(segment);
    if (IDENTIFIER.test(key) && key.length <= MAX_SHOWN) return i === 0 ? key : `.${key}`;
    return `[${JSON.stringify(truncate(key))}]`;
  });
  return parts.join('');
}

/** Keeps user-supplied text in messages readable (and bounded) even if it is huge. */
function truncate(text: string, max = MAX_SHOWN): string {
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
