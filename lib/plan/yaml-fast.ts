/**
 * The fast way to read a YAML plan: js-yaml builds plain values several times faster than the
 * `yaml` library builds its document (about 60 ms against 475 ms in a fresh process for 1,000
 * databases), but keeps no positions and reads some documents differently. So it is only a first
 * try: `readYamlQuickly` answers only for documents on which both libraries agree, and
 * `loadMigrationPlan` uses its value only when it is a valid plan. Everything else (syntax errors,
 * invalid plans, documents outside the agreed subset) is read by `parseYamlSource` exactly as
 * before, so every message, line and column stays the same.
 *
 * Where the two libraries differ, and what happens here:
 * - plain scalars: js-yaml's CORE_SCHEMA is its loose JSON schema (`0b101`, `-0x1F` and `+0o7`
 *   are numbers, `+.5` and `-.5e3` strings, `-0` is 0); `yaml`'s YAML 1.2 core schema says
 *   the opposite. Plain scalars are resolved here with `yaml`'s own core tags (so `yes`, `on`
 *   stay strings, `0o17` is 15, `.inf` Infinity, `~` null, exactly as `yaml` has them);
 * - keys: `yaml` makes a null key (`null:`, `~:`, an empty key) "" and a collection key
 *   (`[a]: x`) its YAML text "[ a ]"; js-yaml makes them "null" and "a". Such documents go the
 *   slow way (a "null" key in the value, or text that can hold a collection or explicit key);
 * - js-yaml is more lenient: it takes badly indented continuation lines of scalars and flow
 *   collections, a `-` less indented than its siblings after an empty entry, `--- a: 1`,
 *   `"a"#b`, keys over 1024 characters, `\U` escapes beyond U+10FFFF; `yaml` reports them.
 *   Scalars and flow collections over several lines, and the text patterns below, go the slow way;
 * - `%YAML 1.1` switches `yaml` to YAML 1.1 (`yes` is true), not js-yaml; tags (`!!binary`...);
 *   anchors and aliases (js-yaml has no cap on alias expansion, `yaml` refuses billion laughs);
 *   tabs, stray CRs, control characters: the slow way;
 * - duplicate keys, several documents, nesting deeper than 100 levels: js-yaml throws, so `yaml`
 *   reports them as before (js-yaml also calls `1` and `"1"` duplicates, `yaml` does not);
 * - `__proto__` keys: both make them own properties; `<<` is an ordinary key for both (no merge
 *   keys in YAML 1.2, and merging needs an alias anyway); a document with a BOM is left to `yaml`.
 * `__tests__/plan/yaml-fast.test.ts` compares the two on fixtures and generated documents.
 */
import { FAILSAFE_SCHEMA, load, Type, type EventType, type State } from 'js-yaml';
import { isScalar, parseDocument, type ParseOptions } from 'yaml';
import { YAML_OPTIONS } from './yaml-source';

/**
 * Text the fast path leaves alone, over-approximated (a false alarm only costs time). Each
 * pattern is a place where the two libraries part, or may.
 */
const OUTSIDE_THE_AGREED_SUBSET = new RegExp(
  [
    // A tag, anchor, alias, explicit key, block scalar or reserved indicator where a node can
    // start (at the start of a line, or after `-`, `:`, `?`, `[`, `{` or `,`, and spaces). js-yaml
    // has no cap on alias expansion (`yaml` refuses billion laughs) and knows other tags.
    /(?:^|[\n\r:?[{,-]) *[!&*?|>%@`]/,
    // A flow collection followed by `:`, so used as a key: `yaml` makes `[a]: x` the key "[ a ]",
    // js-yaml the key "a".
    /[\]}] *:/,
    // `#` right after a quote, bracket, brace, comma, colon or other indicator: `yaml` refuses
    // `"a"#b` and `[a]#b` (a comment must follow whitespace), js-yaml reads them.
    /["'[\]{},:|>?!&*-]#/,
    // A directive (`%YAML 1.1` makes `yes` true for `yaml`), or a document marker with something
    // after it on its line (`----` is a string for `yaml`, not for js-yaml; `--- a: 1` is an error
    // for `yaml` only).
    /(?:^|[\n\r])(?:%|(?:---|\.\.\.)(?! +#| *(?:\r?\n|$)))/,
    // A sequence entry with nothing after its `-` on the line: js-yaml then takes a `-` on the
    // next lines as a sibling even when it is less indented (`yaml` reports the indentation).
    /(?:^|[ \n])-(?: +(?:#[^\n]*)?)?\r?(?:\n|$)/,
    // A `:` more than 1024 characters into its line: `yaml` refuses implicit keys longer than
    // that (`"\x41\x41...": x` can be a short key), js-yaml does not.
    /(?:^|[\n\r])[^\n\r]{1024}[^\n\r:]*:/,
    // An escape beyond U+10FFFF (an error for `yaml` only).
    /\\U(?=[0-9a-fA-F]{8})(?!00(?:0[0-9a-fA-F]|10))/,
    // Tabs; CR not followed by LF; C0 and C1 controls, DEL, non-ASCII line breaks, a BOM (the one
    // at the very start is removed before this test), non-characters; lone surrogates.
    /[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|\r(?!\n)/,
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
  ]
    .map((pattern) => pattern.source)
    .join('|'),
);

interface CoreTag {
  readonly test: RegExp;
  resolve(source: string, onError: (message: string) => void, options: ParseOptions): unknown;
}

const template = parseDocument('', YAML_OPTIONS);
/** `yaml`'s own resolvers for plain scalars, in the order it tries them (null, bool, int, float). */
const CORE_TAGS: readonly CoreTag[] = template.schema.tags.filter(
  (tag): tag is typeof tag & CoreTag => tag.default === true && 'test' in tag && tag.test instanceof RegExp,
);
const TAG_OPTIONS = template.options;

function coreTagOf(source: string): CoreTag | undefined {
  return CORE_TAGS.find((tag) => tag.test.test(source));
}

/** One implicit type that resolves every plain scalar exactly as `yaml`'s YAML 1.2 core schema. */
const yamlCoreScalars = new Type('tag:yaml.org,2002:yaml-core-scalar', {
  kind: 'scalar',
  resolve: (source: unknown) => typeof source === 'string' && coreTagOf(source) !== undefined,
  construct: (source: string) => {
    const resolved = (coreTagOf(source) as CoreTag).resolve(
      source,
      (message) => {
        throw new Error(message);
      },
      TAG_OPTIONS,
    );
    return isScalar(resolved) ? resolved.value : resolved;
  },
});

const SCHEMA = FAILSAFE_SCHEMA.extend({ implicit: [yamlCoreScalars] });

/**
 * The value of a YAML document, when js-yaml can read it and `yaml` would read the same value
 * without errors or warnings that matter; otherwise undefined (read it with `parseYamlSource`).
 */
export function readYamlQuickly(text: string): { readonly value: unknown } | undefined {
  // `yaml` reads some documents differently after a BOM (`\ufeff- {}` is [null], not [{}]).
  if (text.charCodeAt(0) === 0xfeff) return undefined;
  const body = text;
  if (OUTSIDE_THE_AGREED_SUBSET.test(body)) return undefined;
  let value: unknown;
  const watch = new NodeWatch(body);
  try {
    value = load(body, { schema: SCHEMA, json: false, listener: (event, state) => watch.event(event, state) });
  } catch {
    return undefined;
  }
  if (watch.disagreement || typeof value !== 'object' || value === null || hasNullKey(value)) return undefined;
  return { value };
}

/**
 * Follows js-yaml's nodes (every node opens and closes; properties such as tags never occur
 * here) for the two shapes the text test cannot see:
 * - a scalar over several lines (quoted, plain or block): the two libraries check the indentation
 *   of the continuation lines differently (js-yaml takes `key: 'a\n b'` under a deeper key,
 *   `yaml` does not);
 * - a collection used as a key without a value in a flow mapping (`{a, [b]}`): `yaml` writes the
 *   key as "[ b ]", js-yaml as "b". (A collection key with a value has `]:` or `}:` in the text.)
 *   Collections in a flow mapping must be values, right after their `:`.
 */
class NodeWatch {
  disagreement = false;
  private readonly open: { readonly line: number; readonly offset: number; start?: number }[] = [];

  constructor(private readonly text: string) {}

  event(event: EventType, state: State): void {
    if (event === 'open') {
      this.open.push({ line: state.line, offset: state.position });
      return;
    }
    const node = this.open.pop();
    if (node === undefined) return;
    if (state.kind === 'scalar') {
      if (node.line !== state.line) this.disagreement = true;
    } else if (state.kind === 'mapping' || state.kind === 'sequence') {
      const start = this.contentStart(node.offset);
      const first = this.text.charCodeAt(start);
      if ((first === 0x5b || first === 0x7b) && node.line !== state.line) this.disagreement = true; // [ {
      if (this.open.length === 0) return;
      const parent = this.open[this.open.length - 1];
      parent.start ??= this.contentStart(parent.offset);
      // The same node: js-yaml tried it as the first key of a block mapping, then kept it whole.
      if (parent.start === start) return;
      // In a flow mapping, js-yaml opens each entry's node at its first character.
      if (this.text.charCodeAt(parent.start) === 0x7b && !this.followsColon(node.offset)) this.disagreement = true;
    }
  }

  /** Skips spaces, line breaks and comments (tabs, tags and anchors never get this far). */
  private contentStart(offset: number): number {
    let at = offset;
    for (;;) {
      const code = this.text.charCodeAt(at);
      if (code === 0x20 || code === 0x0a || code === 0x0d) at++;
      else if (code === 0x23) {
        const end = this.text.indexOf('\n', at);
        if (end === -1) return this.text.length;
        at = end;
      } else return at;
    }
  }

  private followsColon(offset: number): boolean {
    let at = offset - 1;
    while (this.text.charCodeAt(at) === 0x20) at--;
    return this.text.charCodeAt(at) === 0x3a; // :
  }
}

/** js-yaml writes a null key as "null", `yaml` as "": such documents take the slow way. */
function hasNullKey(value: object): boolean {
  if (Array.isArray(value)) return value.some((item) => typeof item === 'object' && item !== null && hasNullKey(item));
  for (const key of Object.keys(value)) {
    if (key === 'null') return true;
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && hasNullKey(child)) return true;
  }
  return false;
}
