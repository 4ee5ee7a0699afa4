/** Field paths in messages use JavaScript accessor notation: `databases[2].dependsOn[0]`, `tags["cost-center"]`. */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 60;

export function formatFieldPath(segments: readonly PropertyKey[]): string {
  const parts = segments.map((segment, i) => {
    if (typeof segment === 'number') return `[${segment}]`;
    const key = String(segment);
    if (IDENTIFIER.test(key) && key.length <= MAX_SHOWN) return i === 0 ? key : `.${key}`;
    return `[${quote(key)}]`;
  });
  return parts.join('');
}

/** Keeps user-supplied text in messages readable (and bounded) even if it is huge. */
function truncate(text: string, max = MAX_SHOWN): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Characters a terminal shows as nothing or as a plain space (a no-break space or zero-width space
 * pasted from a chat or a wiki page): `sql01\u200b` would read as `sql01` in "unknown source server".
 */
const INVISIBLE = /(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}]/gu;

/** Whether `text` holds a character that {@link quote} shows escaped. */
export const holdsInvisible = (text: string): boolean => text.search(INVISIBLE) !== -1;

/** `"text"`, truncated and JSON-escaped, invisible characters as `\uXXXX`, so that what it holds shows. */
export function quote(text: string): string {
  return JSON.stringify(truncate(text)).replace(INVISIBLE, (char) => {
    const code = char.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A name from the plan as written when it is a plain identifier, else quoted (so it cannot break lines or run on). */
export function showName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : quote(name);
}
