/**
 * docs/warnings.md's table of warning ids is read against WARNING_IDS (lib/core/warnings.ts), and
 * WARNING_IDS against the sources: every id in the table is one the code has and the reverse, every
 * id (but the unused-acknowledgement one, which lib/core/warnings.ts emits) is given at a call site,
 * and every warning goes through `warn` (no `addWarning` of its own), so none is left without an id.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { WARNING_IDS } from '../../lib/core/warnings';
import { tableRows } from './readme-table';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');
const PAGE = readFileSync(join(ROOT, 'docs', 'warnings.md'), 'utf8');
const WARNINGS_MODULE = join('lib', 'core', 'warnings.ts');

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [],
  );
}
const LIBRARY = sources(LIB).map((file) => ({ file: relative(ROOT, file), text: readFileSync(file, 'utf8') }));

/** The ids of a table's rows, in order: the first cell's code span. */
function tableIds(markdown: string): string[] {
  return tableRows(markdown, '| id | what it means | fix it, or acknowledge it when |', 'table of warning ids').map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1] ?? row);
}

/** The ids given at the call sites: `warn(scope, '<id>', ...)` and `secureDefault(scope, '<prop>', ...)`. */
function idsGiven(files: readonly { file: string; text: string }[]): string[] {
  return files.flatMap(({ text }) => [
    ...[...text.matchAll(/\b(?:warn|warnWithId)\(\s*[^,]+,\s*'([^']+)'/g)].map((match) => match[1]),
    ...[...text.matchAll(/\bsecureDefault\(\s*[^,]+,\s*'([^']+)'/g)].map((match) => `migration:secure-default:${match[1]}`),
  ]);
}

describe('docs/warnings.md', () => {
  test('lists every warning id the code has, each once, and no other', () => {
    const listed = tableIds(PAGE);
    expect(listed).toEqual([...new Set(listed)]);
    expect([...listed].sort()).toEqual([...WARNING_IDS].sort());
  });

  test('every id is given where a warning is left, and only those', () => {
    const given = new Set(idsGiven(LIBRARY));
    expect(WARNING_IDS.filter((id) => id !== 'migration:acknowledgement:unused' && !given.has(id))).toEqual([]);
    expect([...given].filter((id) => !(WARNING_IDS as readonly string[]).includes(id))).toEqual([]);
  });

  test('every warning of the library goes through warn, with its id', () => {
    expect(LIBRARY.filter(({ file, text }) => file !== WARNINGS_MODULE && /\.addWarning\(/.test(text)).map(({ file }) => file)).toEqual([]);
  });
});

describe('the warning-table check', () => {
  test('reads the ids of the table, and the ids a call site gives', () => {
    const page = '| id | what it means | fix it, or acknowledge it when |\n| --- | --- | --- |\n| `a:b` | x | y |\n| `c:d` | x | y |\n\nafter';
    expect(tableIds(page)).toEqual(['a:b', 'c:d']);
    const call = { file: 'x.ts', text: "warn(this, 'a:b',\n  'message');\nsecureDefault(this, 'httpsOnly', given, true);\nAnnotations.of(this).addWarning('x');" };
    expect(idsGiven([call])).toEqual(['a:b', 'migration:secure-default:httpsOnly']);
  });
});
