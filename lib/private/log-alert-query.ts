/**
 * What Azure Monitor refuses in a log search alert rule's query, checked at synth so the error names
 * the prop instead of failing `terraform apply`. Sources (MicrosoftDocs/azure-monitor-docs):
 * - `alerts/alerts-create-log-alert-rule.md`, "Be aware of these limitations for log search alert
 *   rule queries": no `bag_unpack()`, `pivot()` or `narrow()`; `ago()` with timespan literals only;
 *   `AggregatedValue` is a reserved word; all the rule's properties together at most 64 KB. Its
 *   one-minute note: a one-minute rule's rewritten query fails on `search`, `union`, `take` (`limit`),
 *   `ingestion_time()` and `adx()` ("One-minute frequency isn't supported for this query",
 *   `alerts/alerts-troubleshoot-log.md`).
 * - `alerts/alerts-log-query.md`: no `search` in a log search alert rule, and no `union` except of
 *   named resources. Azure's own refusal names `search` and `union *` ("alert incompatible command like
 *   'search', 'union *' used", MicrosoftDocs/azure-docs#22062), and a union of named tables is what
 *   the event ingestion errors alert runs, so only `search` and `union *` are refused at any frequency.
 * - `logs/cross-workspace-query.md`: at most 100 workspaces or apps in one query; a cross-resource
 *   reference is explicit and can't be parameterized.
 *
 * The query is read as Kusto's lexer reads it (string literals, comments and bracketed names are
 * never operators) and an operator only where the grammar puts one: `take`/`limit` after a pipe or
 * first in a subquery that starts with an operator (`fork`, `facet ... with`, `partition ... by`,
 * `mv-apply ... on`), `search`/`union` where a tabular expression starts. Microsoft's parser agrees on
 * the queries of `__tests__/kql/log-alert-query-kql.test.ts`.
 */

type TokenKind = 'name' | 'bracketedName' | 'string' | 'number' | 'timespan' | 'punctuation';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

// The suffixes Microsoft's parser (Kusto.Language) reads as a timespan literal, some of them undocumented.
const TIMESPAN_UNITS = new Set([
  'd', 'day', 'days', 'h', 'hr', 'hrs', 'hour', 'hours', 'm', 'min', 'minute', 'minutes', 's', 'sec', 'second', 'seconds',
  'ms', 'milli', 'millis', 'millisec', 'millisecond', 'milliseconds', 'micro', 'micros', 'microsec', 'microsecond', 'microseconds',
  'nanosec', 'nanosecond', 'nanoseconds', 'tick', 'ticks',
]);

// One alternative per token kind, tried in this order at each position (a sticky match).
const LEXEMES: readonly [TokenKind | 'skip', RegExp][] = [
  ['skip', /\s+|\/\/[^\n]*/y],
  // Multi-line (``` or ~~~), verbatim (@"...", no escapes) and obfuscated (h"...") strings.
  ['string', /```[\s\S]*?```|~~~[\s\S]*?~~~|[hH]?@"[^"\n]*"|[hH]?@'[^'\n]*'|[hH]?"(?:[^"\\\n]|\\.)*"|[hH]?'(?:[^'\\\n]|\\.)*'/y],
  ['bracketedName', /\[\s*(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\s*\]/y],
  // `time(1d)`, `timespan(2)`: one literal token for Kusto's lexer.
  ['timespan', /\b(?:time|timespan)\s*\([^()]*\)/y],
  ['number', /0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z]*/y],
  ['name', /mv-apply\b|mv-expand\b|[A-Za-z_$][A-Za-z0-9_]*/y],
  ['punctuation', /==|=~|!=|!~|<=|>=|=>|\.\.|[\s\S]/y],
];

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < query.length) {
    for (const [kind, pattern] of LEXEMES) {
      pattern.lastIndex = position;
      const match = pattern.exec(query);
      if (!match) continue;
      const text = match[0];
      if (kind !== 'skip') {
        // A hex number (0x1d) or an exponent (1e3ms) is no timespan literal.
        const unit = kind === 'number' ? /^\d+(?:\.\d+)?([A-Za-z]+)$/.exec(text)?.[1] : undefined;
        tokens.push({ kind: unit && TIMESPAN_UNITS.has(unit) ? 'timespan' : kind, text, start: position, end: position + text.length });
      }
      position += text.length;
      break;
    }
  }
  return tokens;
}

/** Where a token sits: what the grammar allows there decides whether `take` is an operator or a column. */
type Position = 'afterPipe' | 'tabularStart' | 'operatorFirstSubquery' | 'expression';

/** A use of something the checks look for, with the text the error quotes. */
export interface Finding {
  readonly rule: 'oneMinute' | 'search' | 'unionStar' | 'plugin' | 'ago' | 'reserved' | 'crossResource';
  readonly text: string;
  /** For a cross-resource reference: its function and its string literal argument, if it has one. */
  readonly resourceFunction?: string;
  readonly argument?: string;
}

const CLOSING: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
const UNSUPPORTED_PLUGINS = new Set(['bag_unpack', 'pivot', 'narrow']);
const CROSS_RESOURCE_FUNCTIONS = new Set(['workspace', 'app', 'resource']);
const RESERVED_NAME = 'AggregatedValue';

interface Frame {
  readonly closer: string | undefined;
  /** The first token of the current pipe segment or statement comes next, and where it is. */
  next: Position | undefined;
  /** The operator that began the current segment (`fork`, `evaluate`, ...). */
  operator: string | undefined;
  pluginSeen: boolean;
}

function isCall(tokens: readonly Token[], index: number): boolean {
  return tokens[index + 1]?.text === '(' && tokens[index - 1]?.text !== '.';
}

/** The tokens between the `(` at `open` and its `)`, and the index of that `)`. */
function argumentsOf(tokens: readonly Token[], open: number): { inner: Token[]; close: number } {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const text = tokens[index].text;
    if (text === '(' || text === '{' || text === '[') depth++;
    if (text === ')' || text === '}' || text === ']') depth--;
    if (depth === 0) return { inner: tokens.slice(open + 1, index), close: index };
  }
  return { inner: tokens.slice(open + 1), close: tokens.length };
}

/** Whether the `(` opened in `frame` right after `previous` starts a subquery whose first token is an operator. */
function opensOperatorFirstSubquery(frame: Frame, previous: Token | undefined): boolean {
  switch (frame.operator) {
    case 'fork':
    case 'partition':
      return true;
    case 'facet':
      return previous?.text === 'with';
    case 'mv-apply':
      return previous?.text === 'on';
    default:
      return false;
  }
}

/** What of the checks' concern `query` uses, in the order it appears. */
export function findings(query: string): Finding[] {
  const tokens = tokenize(query);
  const found: Finding[] = [];
  const frames: Frame[] = [{ closer: undefined, next: 'tabularStart', operator: undefined, pluginSeen: false }];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index];
    const previous = tokens[index - 1];
    const frame = frames[frames.length - 1];
    const position = frame.next ?? 'expression';
    frame.next = undefined;
    if (position !== 'expression' && token.kind === 'name') frame.operator = token.text;

    if (token.kind === 'punctuation') {
      if (CLOSING[token.text]) {
        const operatorFirst = token.text === '(' && opensOperatorFirstSubquery(frame, previous);
        frames.push({
          closer: CLOSING[token.text],
          next: token.text === '[' ? undefined : operatorFirst ? 'operatorFirstSubquery' : 'tabularStart',
          operator: undefined,
          pluginSeen: false,
        });
      } else if (token.text === frame.closer && frames.length > 1) {
        frames.pop();
      } else if (token.text === '|') {
        frame.next = 'afterPipe';
        frame.operator = undefined;
        frame.pluginSeen = false;
      } else if (token.text === ';') {
        frame.next = 'tabularStart';
        frame.operator = undefined;
      } else if (token.text === '=' && tokens[index - 2]?.text === 'let' && previous?.kind === 'name') {
        frame.next = 'tabularStart';
      } else if (token.text === '*' && frame.operator === 'union' && !(previous?.kind === 'name' && previous.end === token.start)) {
        found.push({ rule: 'unionStar', text: 'union *' });
      }
      continue;
    }

    if (token.kind === 'bracketedName') {
      // ['AggregatedValue'] names a column; x['AggregatedValue'] reads a dynamic property.
      const indexes = previous !== undefined && previous.end === token.start && (previous.kind === 'name' || previous.text === ')' || previous.text === ']');
      if (!indexes && token.text.replace(/^\[\s*['"]|['"]\s*\]$/g, '') === RESERVED_NAME) {
        found.push({ rule: 'reserved', text: RESERVED_NAME });
      }
      continue;
    }
    if (token.kind !== 'name') continue;

    const name = token.text;
    const tabular = position === 'afterPipe' || position === 'tabularStart' || position === 'operatorFirstSubquery';
    // `search:string` declares a column (datatable, externaldata, a function's or view's parameters).
    const declared = tokens[index + 1]?.text === ':';
    if ((name === 'search' || name === 'union') && tabular && !declared) {
      found.push({ rule: 'oneMinute', text: name });
      if (name === 'search') found.push({ rule: 'search', text: name });
    } else if ((name === 'take' || name === 'limit') && (position === 'afterPipe' || position === 'operatorFirstSubquery')) {
      found.push({ rule: 'oneMinute', text: name });
    } else if (frame.operator === 'evaluate' && !frame.pluginSeen && isCall(tokens, index)) {
      frame.pluginSeen = true;
      if (UNSUPPORTED_PLUGINS.has(name)) found.push({ rule: 'plugin', text: `${name}()` });
    } else if ((name === 'ingestion_time' || name === 'adx') && isCall(tokens, index)) {
      found.push({ rule: 'oneMinute', text: `${name}()` });
    } else if (name === 'ago' && isCall(tokens, index)) {
      const { inner, close } = argumentsOf(tokens, index + 1);
      if (!(inner.length === 1 && inner[0].kind === 'timespan')) {
        found.push({ rule: 'ago', text: query.slice(token.start, tokens[close]?.end ?? query.length) });
      }
    } else if (CROSS_RESOURCE_FUNCTIONS.has(name) && isCall(tokens, index)) {
      const { inner, close } = argumentsOf(tokens, index + 1);
      const text = query.slice(token.start, tokens[close]?.end ?? query.length);
      const argument = inner.length === 1 && inner[0].kind === 'string' ? inner[0].text : undefined;
      found.push({ rule: 'crossResource', text, resourceFunction: name, argument });
    } else if (name === RESERVED_NAME && previous?.text !== '.') {
      found.push({ rule: 'reserved', text: name });
    }
  }
  return found;
}

/** Refuses a one-minute frequency for a log alert whose query Azure cannot evaluate every minute. */
export function checkOneMinuteQuery(propPath: string, evaluationFrequencyMinutes: number, query: string, found = findings(query)): void {
  if (evaluationFrequencyMinutes !== 1) return;
  const unsupported = found.find((finding) => finding.rule === 'oneMinute');
  if (unsupported) {
    throw new Error(
      `${propPath}.evaluationFrequencyMinutes must be more than 1 for its query: Azure runs a one-minute log alert through a rewritten query that does not support ${unsupported.text} ` +
        `("One-minute frequency isn't supported for this query")`,
    );
  }
}

/** Azure takes at most this many workspaces or apps in one query. */
const MAX_CROSS_RESOURCE_REFERENCES = 100;

/**
 * The resource a string literal names, however it is quoted: `"ws"`, `'WS'` and `@"ws"` are one workspace
 * (an Azure resource's id and name, and a GUID, are case-insensitive).
 */
function resourceIdentifier(literal: string): string {
  return literal.replace(/^[hH]?@?(```|~~~|["'])([\s\S]*)\1$/, '$2').toLowerCase();
}

/** Refuses a query that Azure does not take in a log search alert rule at any frequency. */
export function checkLogAlertQuery(propPath: string, query: string, all = findings(query)): void {
  const problem = (text: string): never => {
    throw new Error(`${propPath}.query ${text}`);
  };
  for (const finding of all) {
    switch (finding.rule) {
      case 'search':
      case 'unionStar':
        problem(
          `must not use ${finding.text}: Azure does not support log search alert rules that use search or union * ` +
            '(name the tables instead; a union of named tables or of workspace() and app() resources is fine)',
        );
        break;
      case 'plugin':
        problem(`must not use ${finding.text}: log search alert rule queries don't support bag_unpack(), pivot() and narrow()`);
        break;
      case 'ago':
        problem(`must call ago() with a timespan literal such as ago(15m) (got ${finding.text}): log search alert rule queries support ago() with timespan literals only`);
        break;
      case 'reserved':
        problem(`must not use ${RESERVED_NAME}: it is a reserved word in log search alert rule queries`);
        break;
      case 'crossResource':
        if (finding.argument === undefined) {
          problem(`must name its resource with a string literal (got ${finding.text}): a cross-resource reference can't be parameterized`);
        }
        break;
    }
  }
  const resources = new Set(
    all
      .filter((finding) => finding.resourceFunction === 'workspace' || finding.resourceFunction === 'app')
      .map((finding) => `${finding.resourceFunction}(${resourceIdentifier(finding.argument ?? '')})`),
  );
  if (resources.size > MAX_CROSS_RESOURCE_REFERENCES) {
    problem(`names ${resources.size} workspaces or apps: a query may include at most ${MAX_CROSS_RESOURCE_REFERENCES}`);
  }
}

/** 64 KB, Azure's limit on all of a log search alert rule's properties together. */
const MAX_RULE_PROPERTIES_BYTES = 64 * 1024;

/**
 * Refuses a rule whose query, display name, description, dimensions and runbook link alone
 * exceed 64 KB: with the rest of its properties it can only be larger.
 */
export function checkLogAlertRuleSize(propPath: string, properties: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify(properties), 'utf8');
  if (bytes > MAX_RULE_PROPERTIES_BYTES) {
    throw new Error(
      `${propPath}: its query, display name, description, dimensions and runbook link take ${bytes} bytes, more than the 64 KB (${MAX_RULE_PROPERTIES_BYTES} bytes) ` +
        'Azure allows for all of a log search alert rule\'s properties together: shorten the query or the description',
    );
  }
}
