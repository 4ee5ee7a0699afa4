/**
 * Maps field paths back to where they are written in the plan file, so problems found after
 * parsing (wrong values, unknown references, cycles) still point at a line and column.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { PlanProblem } from './errors';

/** 1-based. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** The position of the field at `path`, or of its nearest parent that exists in the file. */
export type SourceLocator = (path: readonly PropertyKey[]) => SourcePosition | undefined;

/** A plan file read into a value (with a way back to positions), or its syntax problems. */
export type ParsedSource =
  | { readonly ok: true; readonly value: unknown; readonly locate: SourceLocator }
  | { readonly ok: false; readonly problems: readonly PlanProblem[] };

/** Converts character offsets to line and column (computed once, binary search per lookup). */
export function lineColumnFinder(text: string): (offset: number) => SourcePosition {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - lineStarts[low] + 1 };
  };
}

/**
 * Walks YAML nodes: a mapping field points at its key (the line people look for), a list item
 * at the item itself.
 */
export function yamlLocator(document: Document, positionOf: (offset: number) => SourcePosition): SourceLocator {
  return (path) => {
    let node: unknown = document.contents;
    let offset = rangeStart(node);
    let found = 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(document);
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => (isScalar(item.key) ? String(item.key.value) : item.key) === String(segment),
        );
        if (pair === undefined) break;
        offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
        node = pair.value;
        found++;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
        offset = rangeStart(node) ?? offset;
        found++;
      } else {
        break;
      }
    }
    return offset === undefined || isOnlyTheRoot(path, found) ? undefined : positionOf(offset);
  };
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

/** Offsets recorded while parsing JSON: of each value, and of each object key. */
export interface JsonPositions {
  readonly offset: number;
  readonly fields?: ReadonlyMap<string, { readonly keyOffset: number; readonly value: JsonPositions }>;
  readonly items?: readonly JsonPositions[];
}

export function jsonLocator(root: JsonPositions, positionOf: (offset: number) => SourcePosition): SourceLocator {
  return (path) => {
    let node = root;
    let offset = root.offset;
    let found = 0;
    for (const segment of path) {
      const field = node.fields?.get(String(segment));
      const item = typeof segment === 'number' ? node.items?.[segment] : undefined;
      if (field !== undefined) {
        offset = field.keyOffset;
        node = field.value;
        found++;
      } else if (item !== undefined) {
        offset = item.offset;
        node = item;
        found++;
      } else {
        break;
      }
    }
    return isOnlyTheRoot(path, found) ? undefined : positionOf(offset);
  };
}

/** A missing top-level field has no better place than line 1, which would only mislead. */
function isOnlyTheRoot(path: readonly PropertyKey[], found: number): boolean {
  return path.length > 0 && found === 0;
}
