/**
 * Orders problems of a plan that did not come from a file (so has no line numbers) the way a
 * reader meets them: by where their fields sit in the value, keys in insertion order.
 */

/** Sorts `items` by their paths' positions in `root`; fields missing from it come last in their parent. */
export function sortByDocumentOrder<T>(
  root: unknown,
  items: readonly T[],
  pathOf: (item: T) => readonly PropertyKey[],
): T[] {
  const keyed = items.map((item) => ({ item, position: positionIn(root, pathOf(item)) }));
  keyed.sort((a, b) => comparePositions(a.position, b.position));
  return keyed.map(({ item }) => item);
}

function positionIn(root: unknown, path: readonly PropertyKey[]): number[] {
  const position: number[] = [];
  let node = root;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') {
      position.push(segment);
      node = node[segment];
    } else if (typeof node === 'object' && node !== null) {
      const index = Object.keys(node).indexOf(String(segment));
      if (index === -1) return [...position, Number.MAX_SAFE_INTEGER];
      position.push(index);
      node = (node as Record<string, unknown>)[String(segment)];
    } else {
      return [...position, Number.MAX_SAFE_INTEGER];
    }
  }
  return position;
}

/** Parents before their children; otherwise the first differing index decides. */
function comparePositions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
