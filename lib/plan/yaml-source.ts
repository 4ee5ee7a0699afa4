/** Reads a YAML plan file, keeping the node tree to point later problems at lines. */
import { parseDocument, type YAMLError } from 'yaml';
import type { PlanProblem } from './errors';
import { lineColumnFinder, yamlLocator, type ParsedSource, type SourcePosition } from './source-positions';

export function parseYamlSource(text: string): ParsedSource {
  const positionOf = lineColumnFinder(text);
  let document;
  try {
    // uniqueKeys (the default) makes duplicate keys errors; YAML 1.2 core schema: `no` stays a string.
    document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, version: '1.2' });
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `cannot parse YAML: ${errorMessage(error)}` }] };
  }
  if (document.errors.length > 0) {
    return { ok: false, problems: document.errors.map((error) => syntaxProblem(error, text, positionOf)) };
  }
  if (document.contents === null) {
    return { ok: false, problems: [{ path: '', message: 'the file is empty; expected a migration plan', line: 1, column: 1 }] };
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

function syntaxProblem(error: YAMLError, text: string, positionOf: (offset: number) => SourcePosition): PlanProblem {
  const [start, end] = error.pos;
  const { line, column } = positionOf(start);
  const message =
    error.code === 'DUPLICATE_KEY'
      ? `duplicate key ${JSON.stringify(text.slice(start, end).split(':')[0].trim())}`
      : `YAML syntax error: ${error.message}`;
  return { path: '', message, line, column };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
