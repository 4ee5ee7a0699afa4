/** Reads a YAML plan file, keeping the node tree to point later problems at lines. */
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLError } from 'yaml';
import type { PlanProblem } from './errors';
import { formatFieldPath, quote } from './field-path';
import { lineColumnFinder, yamlLocator, type ParsedSource, type SourcePosition } from './source-positions';

/**
 * uniqueKeys makes duplicate keys errors; YAML 1.2 core schema, so `no` stays a string.
 * logLevel 'error': the library's advice for programmers (mapAsMap) must not reach the terminal.
 * (`readYamlQuickly` resolves scalars with the schema these options give.)
 */
export const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: true, version: '1.2', logLevel: 'error' } as const;

/**
 * Reads YAML with the `yaml` library, keeping its node tree for positions. `loadMigrationPlan`
 * tries `readYamlQuickly` first and comes here for anything that is not a valid plan.
 */
export function parseYamlSource(text: string): ParsedSource {
  const positionOf = lineColumnFinder(text);
  let document: Document;
  try {
    document = parseDocument(text, YAML_OPTIONS);
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `cannot parse YAML: ${errorMessage(error)}` }] };
  }
  if (document.errors.length > 0) {
    return { ok: false, problems: document.errors.map((error) => syntaxProblem(error, document, positionOf)) };
  }
  if (document.contents === null) {
    const message = 'the file is empty; expected a migration plan';
    return { ok: false, problems: [{ path: '', message, line: 1, column: 1 }] };
  }
  let value: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `cannot read YAML: ${errorMessage(error)}` }] };
  }
  return { ok: true, value, locate: yamlLocator(document, positionOf) };
}

function syntaxProblem(
  error: YAMLError,
  document: Document,
  positionOf: (offset: number) => SourcePosition,
): PlanProblem {
  const { line, column } = positionOf(error.pos[0]);
  const duplicate = error.code === 'DUPLICATE_KEY' ? keyPathAt(document.contents, error.pos[0], []) : undefined;
  if (duplicate !== undefined) {
    return {
      path: formatFieldPath(duplicate),
      message: `duplicate key ${quote(String(duplicate[duplicate.length - 1]))}`,
      line,
      column,
    };
  }
  return { path: '', message: `YAML syntax error: ${error.message}`, line, column };
}

/** The field path of the mapping key that starts at `offset`. */
function keyPathAt(node: unknown, offset: number, path: PropertyKey[]): PropertyKey[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) return [...path, key];
      const found = keyPathAt(pair.value, offset, [...path, key]);
      if (found !== undefined) return found;
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) {
      const found = keyPathAt(item, offset, [...path, index]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
