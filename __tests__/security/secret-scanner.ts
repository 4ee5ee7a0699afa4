/**
 * Finds credentials in a synthesized Terraform JSON document. Terraform references (`${var.x}`,
 * `${azurerm_...}`) are allowed wherever a value is expected: only literals leak.
 */

/** One suspected secret: where it is, which rule matched, and a masked excerpt. */
export interface SecretFinding {
  /** JSON path, for example `resource.azurerm_storage_blob.x.source_content`. */
  readonly path: string;
  readonly rule: string;
  readonly excerpt: string;
}

/** A value that is only Terraform references (`${...}`), possibly several, and nothing else. */
const PURE_REFERENCE = /^\s*(?:\$\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}\s*)+$/;

/** Keys whose value is a credential (after camelCase and SCREAMING_CASE become snake_case). */
const SECRET_KEY =
  /(?:^|_)(?:password|passwd|pwd|secret|client_secret|account_key|access_key|shared_access_key|sas_token|sas|private_key|auth_key\d*|authorization_key|token|api_key)$/;

/**
 * Rules over every string; a `(?!\$\{)` after `=` lets a Terraform reference stand in for the value.
 * `needs`: text every match contains, so a string without it skips the pattern (same findings, less work).
 */
const CONTENT_RULES: ReadonlyArray<{ rule: string; pattern: RegExp; needs?: string }> = [
  // Connection-string or query-string form: `...;Password=x;`, `?pwd=x`.
  { rule: 'password', pattern: /(?:^|[;?&])\s*(?:password|passwd|pwd)\s*=\s*(?!\$\{)[^;&\s]+/i },
  // Quoted literal in code or JSON: `password="x"`, `"password": "x"`. `password=conn.password` is code, not a literal.
  { rule: 'password', pattern: /\b(?:password|passwd|pwd)["']?\s*[=:]\s*(["'])(?!\$\{)(?:(?!\1).)+\1/i },
  { rule: 'connection-string-credential', pattern: /\b(?:user id|uid|user|username)\s*=\s*[^;]+;.*?\b(?:password|pwd)\s*=\s*(?!\$\{)[^;\s]+/i },
  { rule: 'storage-account-key', pattern: /\b(?:AccountKey|SharedAccessKey)\s*=\s*(?!\$\{)[^;\s"']+/i },
  // 64 random bytes in base64: an Azure Storage or Cosmos DB account key.
  { rule: 'storage-account-key', pattern: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/, needs: '==' },
  { rule: 'private-key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { rule: 'sas-token', pattern: /(?:^|[?&\s"'])sig=(?!\$\{)[A-Za-z0-9%+/=]{16,}/i },
  // Entra ID client secrets: 40 characters with `<digit>Q~` at offset 3.
  { rule: 'client-secret', pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/ },
  { rule: 'client-secret', pattern: /\bclient_?secret["']?\s*[=:]\s*["']?(?!\$\{)[A-Za-z0-9_~.\-+/=]{8,}/i },
  { rule: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
];

/** Every suspected secret in the document, in document order. */
export function findSecrets(document: unknown): SecretFinding[] {
  const findings: SecretFinding[] = [];
  walk(document, [], undefined, findings);
  return findings;
}

/** `path` is the walk's one list of keys, pushed and popped on the way: a finding joins it, nothing else copies it. */
function walk(value: unknown, path: string[], key: string | undefined, findings: SecretFinding[]): void {
  if (typeof value === 'string') {
    scanString(value, path, key, findings);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      path.push(String(index));
      walk(item, path, key, findings);
      path.pop();
    });
  } else if (value !== null && typeof value === 'object') {
    // A variable's default is named by the variable: `variable.sql_password.default`.
    const variable = path.length === 2 && path[0] === 'variable' ? path[1] : undefined;
    for (const [childKey, child] of Object.entries(value)) {
      for (const { rule, excerpt } of contentFindings(childKey)) findings.push({ path: [...path, `<key ${childKey}>`].join('.'), rule, excerpt });
      path.push(childKey);
      walk(child, path, variable !== undefined && childKey === 'default' ? variable : childKey, findings);
      path.pop();
    }
  }
}

function scanString(value: string, path: readonly string[], key: string | undefined, findings: SecretFinding[]): void {
  if (key !== undefined && isSecretKey(key) && value.trim() !== '' && !PURE_REFERENCE.test(value)) {
    findings.push({ path: path.join('.'), rule: `literal value of "${key}"`, excerpt: mask(value) });
  }
  for (const { rule, excerpt } of contentFindings(value)) findings.push({ path: path.join('.'), rule, excerpt });
}

/** What the content rules find in `value`, in rule order: the same for the same text wherever it is. */
function scanContent(value: string): ReadonlyArray<Omit<SecretFinding, 'path'>> {
  const found: Array<Omit<SecretFinding, 'path'>> = [];
  for (const { rule, pattern, needs } of CONTENT_RULES) {
    const match = needs === undefined || value.includes(needs) ? pattern.exec(value) : null;
    if (match) {
      found.push({ rule, excerpt: mask(match[0].trim()) });
    }
  }
  return found;
}

/**
 * Each text is scanned once per content: the DAG files and the plan recur in every stack of every
 * host (a few hundred kB each time), so do names and references, and a scan depends on the text alone.
 */
const contentFindingsOfText = new Map<string, ReadonlyArray<Omit<SecretFinding, 'path'>>>();

function contentFindings(value: string): ReadonlyArray<Omit<SecretFinding, 'path'>> {
  let found = contentFindingsOfText.get(value);
  if (found === undefined) {
    found = scanContent(value);
    contentFindingsOfText.set(value, found);
  }
  return found;
}

const secretKeys = new Map<string, boolean>();

/** Whether a value under `key` is a credential by its name (SECRET_KEY), remembered per key. */
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(snakeCase(key));
    secretKeys.set(key, secret);
  }
  return secret;
}

function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
}

/** Enough to find it, not enough to leak it into a CI log. */
function mask(text: string): string {
  return text.length <= 12 ? `${text.slice(0, 3)}...` : `${text.slice(0, 8)}...${text.slice(-2)} (${text.length} chars)`;
}
