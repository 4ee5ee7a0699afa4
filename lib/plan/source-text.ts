/**
 * Plan text to a value, keeping a way back from field paths to lines and columns. YAML is read
 * with the `yaml` library. JSON is read with `JSON.parse`, which defines what JSON is and reads a
 * 1,000-database plan in a few milliseconds (a YAML parser takes hundreds); `yaml` reads the same
 * text again only when it repeats a key (which `JSON.parse` lets through) or a problem needs a position.
 *
 * A repeated key is a problem, but it leaves a usable value: the last of the values written wins (as
 * `JSON.parse` and `yaml`'s `toJS` both read it), so the plan is still checked, and every problem
 * reported at once. A syntax error leaves no document to check: the reading stops there.
 */
import type { Alias, Document, LineCounter, Node, YAMLError } from 'yaml';
import { errorMessage, type PlanProblem } from './errors';
import { formatFieldPath, quote } from './field-path';

type Loose = Record<string, unknown>;

/** The position (1-based) of the field at `path`, or of its nearest parent written in the file. */
export type SourceLocator = (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;

/**
 * A plan file read into a value (with a way back to positions) and the problems found reading it
 * that still left the value usable (repeated keys), or the problems that left none.
 */
export type ParsedSource =
  | { readonly ok: true; readonly value: unknown; readonly locate: SourceLocator; readonly problems: readonly PlanProblem[] }
  | { readonly ok: false; readonly problems: readonly PlanProblem[] };

/** `yaml` (72 modules) loads with the first text it reads: a valid JSON plan never needs it. */
let yamlLibrary: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlLibrary ??= require('yaml') as typeof import('yaml'));

type YamlSource = { readonly document: Document; readonly lines: LineCounter };

/** Plans are a few levels deep; `yaml` can exhaust the stack on deeper JSON (and V8 then aborts). */
const MAX_JSON_DEPTH = 64;

/**
 * uniqueKeys makes duplicate keys errors; YAML 1.2 core schema, so `no` stays a string.
 * logLevel 'error': the library's advice for programmers (mapAsMap) must not reach the terminal.
 */
const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: true, version: '1.2', logLevel: 'error' } as const;

/** The library's words for these advise its API (parseAllDocuments) or name a JavaScript limit, not the plan's author's mistake. */
const OWN_WORDS = new Map([
  ['MULTIPLE_DOCS', 'a second document starts here (---): a plan is one document; remove the rest or split it into files'],
  ['RESOURCE_EXHAUSTION', 'nested too deeply: a plan is a few levels deep'],
]);

/**
 * What the library's words for these leave out: a plan's backslashes are Windows paths and
 * host\instance names, and in double quotes the `\s` of `"\\files01\sqlbackups"` is an escape.
 */
const HINTS = new Map([
  ['BAD_DQ_ESCAPE', "in double quotes a backslash starts an escape: write a Windows path or host\\instance in single quotes, such as '\\\\fileserver01\\sqlbackups'"],
]);

/** How many copies aliases may make of one anchored value, counting the aliases inside it ("billion laughs": a few lines of aliases expand to gigabytes). */
const MAX_ALIAS_COPIES = 100;

function parseYaml(text: string): YamlSource {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  return { document: parseDocument(withLineFeeds(text), { ...YAML_OPTIONS, lineCounter: lines }), lines };
}

/**
 * YAML 1.2 (5.4) and JSON break lines at CR, LF and CRLF; `yaml` knows only LF and CRLF (eemeli/yaml#595,
 * declined), so an old Mac file read as one line: one comment, an empty file. A lone CR becomes LF,
 * which keeps every offset.
 */
export const withLineFeeds = (text: string): string => text.replace(/\r(?!\n)/g, '\n');

export function readYaml(text: string): ParsedSource {
  let source: YamlSource;
  try {
    source = parseYaml(text);
  } catch (error) {
    return failed(`cannot parse YAML: ${errorMessage(error)}`);
  }
  const { document, lines } = source;
  const duplicateKeys = duplicateKeyProblems(source, document.errors);
  const errors = document.errors.map(({ code, message, pos: [offset] }, index) => {
    const duplicateKey = duplicateKeys[index];
    if (duplicateKey !== undefined) return { duplicateKey, problem: duplicateKey };
    const hint = HINTS.get(code);
    const what = OWN_WORDS.get(code) ?? (hint === undefined ? message : `${message} (${hint})`);
    const at = code === 'RESOURCE_EXHAUSTION' ? tooDeepOnLine(withLineFeeds(text), offset) : offset;
    return { problem: { path: '', message: `YAML syntax error: ${what}`, ...position(lines, at) } };
  });
  // Repeated keys alone leave a document to check (its last value of each); any other error, none.
  const found = errors.map(({ problem }) => problem);
  if (errors.some(({ duplicateKey }) => duplicateKey === undefined)) return { ok: false, problems: found };
  if (document.contents === null) return failed('the file is empty; expected a migration plan', { line: 1, column: 1 });
  const keyProblems = collectionKeys(source, document.contents);
  if (keyProblems.length > 0) return { ok: false, problems: [...found, ...keyProblems] };
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: MAX_ALIAS_COPIES }), locate: locator(() => source), problems: found };
  } catch (error) {
    const message = errorMessage(error);
    if (!/^Excessive alias count/.test(message)) return failed(`cannot read YAML: ${message}`, danglingAlias(source), found);
    const what = `here the copies of an anchored value (&name ... *name) pass ${MAX_ALIAS_COPIES}, the limit that guards against "billion laughs" files`;
    return failed(`YAML aliases expand too far: ${what}; write the values out, or use fewer aliases`, aliasPastLimit(source), found);
  }
}

/**
 * Where brackets on the line of `offset` first nest past MAX_JSON_DEPTH: `yaml` reports nesting too
 * deep where its stack ran out, a column that moves with the stack's state (and the line breaks).
 */
function tooDeepOnLine(text: string, offset: number): number {
  let depth = 0;
  for (let at = text.lastIndexOf('\n', offset - 1) + 1; at < offset; at++) {
    const code = text.charCodeAt(at);
    if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > MAX_JSON_DEPTH) return at;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) depth--;
  }
  return offset;
}

/**
 * Keys that are lists or mappings (`? [a, b]`, `{a: 1}: 2`): `toJS` turns them into text such as
 * "[ a, b ]", which named no field and had no line. The path is the mapping's.
 */
function collectionKeys(source: YamlSource, node: unknown, path: PropertyKey[] = []): PlanProblem[] {
  const { isAlias, isMap, isSeq } = yaml();
  if (isSeq(node)) return node.items.flatMap((item, index) => collectionKeys(source, item, [...path, index]));
  if (!isMap(node)) return [];
  return node.items.flatMap(({ key, value }) => {
    const resolved = isAlias(key) ? key.resolve(source.document) : key;
    if (isMap(resolved) || isSeq(resolved)) {
      const what = isSeq(resolved) ? 'list' : 'mapping';
      return [{ path: formatFieldPath(path), message: `a key must be a name, not a ${what}`, ...position(source.lines, rangeStart(key) ?? 0) }];
    }
    return collectionKeys(source, value, [...path, keyText(key)]);
  });
}

/**
 * Where the alias is whose copy passed the limit: `toJS` throws without a position, so it runs
 * again, each alias noting itself when its count throws (the first to note it is where it began).
 */
function aliasPastLimit({ document, lines }: YamlSource): { line: number; column: number } | undefined {
  const { visit } = yaml();
  let pastLimit: Alias | undefined;
  visit(document, {
    Alias: (_, alias) => {
      const resolve = alias.resolve.bind(alias);
      alias.resolve = (...args) => {
        try {
          return resolve(...args);
        } catch (error) {
          pastLimit ??= alias;
          throw error;
        }
      };
    },
  });
  try {
    document.toJS({ maxAliasCount: MAX_ALIAS_COPIES });
  } catch {
    // the error readYaml reports
  }
  const offset = rangeStart(pastLimit);
  return offset === undefined ? undefined : position(lines, offset);
}

/** Where the first alias without an anchor before it is: `toJS` throws for it without a position. */
function danglingAlias({ document, lines }: YamlSource): { line: number; column: number } | undefined {
  const { visit } = yaml();
  let offset: number | undefined;
  visit(document, {
    Alias: (_, alias) => {
      if (alias.resolve(document) !== undefined) return undefined;
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? undefined : position(lines, offset);
}

export function readJson(text: string): ParsedSource {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (/^[ \t\r\n]*$/.test(body)) return jsonSyntaxError(body, 0, 'the file is empty');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return jsonParseFailure(body, errorMessage(error));
  }
  const { keys, tooDeepAt } = scanJson(body);
  if (tooDeepAt !== undefined)
    return jsonSyntaxError(body, tooDeepAt, `nested more than ${MAX_JSON_DEPTH} levels deep`);
  let yaml: YamlSource | undefined;
  const source = () => (yaml ??= parseYaml(body));
  // Repeated keys (`JSON.parse` keeps the last value of each) are problems, and the value is still checked.
  let problems: PlanProblem[] = [];
  if (keys !== countKeys(value)) {
    const { errors } = source().document;
    problems = duplicateKeyProblems(source(), errors).flatMap((problem) => problem ?? []);
  }
  return { ok: true, value, locate: locator(source), problems };
}

/**
 * A mapping field points at its key (the line people look for), a list item at the item itself;
 * a field that is not in the file at its nearest parent that is. A repeated key's field is its
 * last, whose value the plan holds.
 */
function locator(source: () => YamlSource): SourceLocator {
  return (path) => {
    const { document, lines } = source();
    const { isAlias, isMap, isSeq } = yaml();
    let node: unknown = document.contents;
    let offset = rangeStart(node);
    let found = 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(document);
      if (isMap(node)) {
        const pair = lastPair(node.items, String(segment));
        if (pair === undefined) break;
        offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
        offset = rangeStart(node) ?? offset;
      } else break;
      found++;
    }
    // A missing top-level field has no better place than line 1, which would only mislead.
    if (offset === undefined || (path.length > 0 && found === 0)) return undefined;
    return position(lines, offset);
  };
}

/** The last pair with key `key` (tsconfig's ES2022 has no `findLast`). */
function lastPair<T extends { key: unknown }>(items: readonly T[], key: string): T | undefined {
  for (let index = items.length - 1; index >= 0; index--) if (keyText(items[index].key) === key) return items[index];
  return undefined;
}

/**
 * Each error's problem where it is a repeated key whose field path is found, else undefined. The
 * paths come from one walk of the document, however many keys repeat (a walk per key took seconds
 * for a 1,000-database plan that repeats a key in each database).
 */
function duplicateKeyProblems({ document, lines }: YamlSource, errors: readonly YAMLError[]): (PlanProblem | undefined)[] {
  const offsets = new Set(errors.flatMap(({ code, pos }) => (code === 'DUPLICATE_KEY' ? [pos[0]] : [])));
  const paths = offsets.size === 0 ? new Map<number, PropertyKey[]>() : keyPathsAt(document.contents, offsets);
  return errors.map(({ code, pos: [offset] }) => {
    const path = code === 'DUPLICATE_KEY' ? paths.get(offset) : undefined;
    if (path === undefined) return undefined;
    return {
      path: formatFieldPath(path),
      message: `duplicate key ${quote(String(path.at(-1)))}`,
      ...position(lines, offset),
    };
  });
}

/** The field paths of the mapping keys that start at `offsets`. */
function keyPathsAt(
  node: unknown,
  offsets: ReadonlySet<number>,
  paths = new Map<number, PropertyKey[]>(),
  path: PropertyKey[] = [],
): Map<number, PropertyKey[]> {
  const { isMap, isScalar, isSeq } = yaml();
  if (isMap(node)) {
    for (const { key, value } of node.items) {
      const keyPath = [...path, keyText(key)];
      const offset = isScalar(key) ? key.range?.[0] : undefined;
      if (offset !== undefined && offsets.has(offset)) paths.set(offset, keyPath);
      keyPathsAt(value, offsets, paths, keyPath); // a repeated key's value may repeat keys of its own
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) keyPathsAt(item, offsets, paths, [...path, index]);
  }
  return paths;
}

/** V8's message, then where the error is ("at position N"), or a quote of the text around an unexpected token. */
const V8_JSON_ERROR = /^(.*?)(?:(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?|, (?:\.\.\.)?".*)?$/s;

function jsonParseFailure(text: string, message: string): ParsedSource {
  const [, what, at] = V8_JSON_ERROR.exec(message) ?? [message, message];
  const offset =
    at !== undefined ? Number(at) : /end of JSON input/.test(what) ? text.length : unexpectedAt(text, what);
  const comma = trailingCommaBefore(text, offset);
  if (comma !== undefined) {
    // V8 names the bracket after it ("expected double-quoted property name", "unexpected token ']'"): the comma is the mistake.
    const last = text.charCodeAt(offset) === CLOSE_BRACE ? 'field' : 'element';
    const message = `JSON syntax error: a comma after the last ${last} (JSON allows none): remove it`;
    return { ok: false, problems: [{ path: formatFieldPath(jsonPathAt(text, comma)), message, ...jsonPosition(text, comma) }] };
  }
  return jsonSyntaxError(text, offset, `${what.charAt(0).toLowerCase()}${what.slice(1)}`);
}

/** Where the comma is that a closing bracket at `offset` follows (whitespace between), if one does. */
function trailingCommaBefore(text: string, offset: number): number | undefined {
  const code = text.charCodeAt(offset);
  if (code !== CLOSE_BRACE && code !== CLOSE_BRACKET) return undefined;
  let before = offset - 1;
  while (before >= 0 && /[ \t\r\n]/.test(text[before])) before--;
  return text.charCodeAt(before) === COMMA ? before : undefined;
}

/**
 * The field path of the object or list that `offset` is inside of, in text that `JSON.parse` read
 * without a mistake up to there: each open bracket's key (or element index) in its parent.
 */
function jsonPathAt(text: string, offset: number): PropertyKey[] {
  const open: { list: boolean; at: PropertyKey | undefined }[] = [];
  let lastString: string | undefined;
  for (let at = 0; at < offset; at++) {
    const code = text.charCodeAt(at);
    const top = open.at(-1);
    if (code === QUOTE) {
      const end = closingQuote(text, at);
      lastString = JSON.parse(text.slice(at, end + 1)) as string;
      at = end;
    } else if (code === COLON && top !== undefined) top.at = lastString;
    else if (code === COMMA && top?.list === true) top.at = (top.at as number) + 1;
    else if (code === OPEN_BRACKET) open.push({ list: true, at: 0 });
    else if (code === OPEN_BRACE) open.push({ list: false, at: undefined });
    else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) open.pop();
  }
  return open.slice(0, -1).map(({ at }) => at as PropertyKey);
}

/** The shortest prefix of `text` that fails with the same message ends with the unexpected token. */
function unexpectedAt(text: string, what: string): number {
  const failsAlike = (end: number) => {
    try {
      JSON.parse(text.slice(0, end));
      return false;
    } catch (error) {
      return errorMessage(error).startsWith(what);
    }
  };
  let low = 1;
  let high = text.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (failsAlike(middle)) high = middle;
    else low = middle + 1;
  }
  return high - 1;
}

function jsonSyntaxError(jsonText: string, offset: number, message: string): ParsedSource {
  return failed(`JSON syntax error: ${message}`, jsonPosition(jsonText, offset));
}

function jsonPosition(jsonText: string, offset: number): { line: number; column: number } {
  const text = withLineFeeds(jsonText);
  const lineStart = offset === 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
  const line = text.slice(0, lineStart).split('\n').length;
  return { line, column: offset - lineStart + 1 };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * How many keys the text writes, and where it first nests too deep. In text `JSON.parse` accepted,
 * a colon outside strings ends a key, and strings are the only place a bracket or colon can hide.
 * One pass over the characters, jumping over strings (a regex match per token took 15 ms of a
 * 1,000-database plan's load, and left as much garbage).
 */
function scanJson(text: string): { keys: number; tooDeepAt?: number } {
  let keys = 0;
  let depth = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) at = closingQuote(text, at);
    else if (code === COLON) keys++;
    else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > MAX_JSON_DEPTH) return { keys, tooDeepAt: at };
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) depth--;
  }
  return { keys };
}

/** Where the string that opens at `start` closes: the next quote after an even number of backslashes. */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    if (end === -1) return text.length; // (no such string in text JSON.parse accepted)
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/**
 * Keys of every object in a parsed value: fewer than the text writes means a key was repeated.
 * `for...in` is the fast way round keys (Object.values took 3 ms of a 1,000-database plan's load);
 * it also walks inherited ones, which count only when `inheritsKeys` (something gave
 * Object.prototype an enumerable key).
 */
function countKeys(value: unknown, inheritsKeys = Object.keys(Object.prototype).length > 0): number {
  if (typeof value !== 'object' || value === null) return 0;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value) keys += countKeys(item, inheritsKeys);
  } else {
    for (const key in value) {
      if (!inheritsKeys || Object.hasOwn(value, key)) keys += 1 + countKeys((value as Loose)[key], inheritsKeys);
    }
  }
  return keys;
}

/** A key as `toJS` writes it: a null key (`~:`, `? `) is "". */
const keyText = (key: unknown) => (yaml().isScalar(key) ? String(key.value ?? '') : String(key));
const rangeStart = (node: unknown) => (node as Node | null | undefined)?.range?.[0];

function position(lines: LineCounter, offset: number) {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function failed(message: string, at?: { line: number; column: number }, found: readonly PlanProblem[] = []): ParsedSource {
  return { ok: false, problems: [...found, { path: '', message, ...at }] };
}
