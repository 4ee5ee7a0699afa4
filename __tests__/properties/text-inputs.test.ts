/**
 * Plan files of any content: valid YAML and JSON, the same with damage (cut short, characters
 * inserted or dropped, lines repeated), random text and random bytes. loadMigrationPlan gives a
 * plan or a MigrationPlanError that starts with the file path; syntax errors carry a line.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { loadMigrationPlan, MigrationPlanError, parseMigrationPlan } from '../../lib/plan';
import { validPlanDocument } from './arbitraries';
import { anyCodePoint } from './code-points';
import { expectDeepEqual, expectWellFormed, outcomeOf, type Outcome, runs } from './outcomes';

let directory: string;
let files = 0;
beforeAll(() => (directory = mkdtempSync(join(tmpdir(), 'plan-properties-'))));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Writes the content to a fresh file with that extension, loads it, removes it. */
function load(extension: string, content: string | Uint8Array): { file: string; outcome: Outcome } {
  const file = join(directory, `plan-${files++}${extension}`);
  writeFileSync(file, content);
  try {
    return { file, outcome: outcomeOf(() => loadMigrationPlan(file)) };
  } finally {
    unlinkSync(file);
  }
}

const smallPlan = validPlanDocument({ maxDatabases: 6 });

const asYaml = (document: unknown) => toYaml(document);
const asJson = (document: unknown, indent: number) => JSON.stringify(document, null, indent);

/** Text that YAML and JSON readers trip on. */
const syntaxNoise = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      ...['{', '}', '[', ']', ':', ',', '"', "'", '\n', '\t', '- ', ': ', '&a ', '*a', '!!binary ', '---\n'],
      ...['%YAML 1.1\n', '? ', '#', '\\', '\u0000', '\ufeff', '\r'],
    ),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: anyCodePoint, maxLength: 5 }), weight: 1 },
);

/** Damage to a document's text, at random places. */
function damaged(text: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: text.length });
  // Beside punctuation and line breaks is where a reader's grammar is most likely to go wrong.
  const punctuation = fc.constantFrom(...[...text.matchAll(/[{}[\],:"\n-]/g)].map((match) => match.index));
  const insertAt = (start: fc.Arbitrary<number>) =>
    fc.tuple(start, syntaxNoise).map(([i, noise]) => text.slice(0, i) + noise + text.slice(i));
  return fc.oneof(
    insertAt(punctuation),
    insertAt(punctuation.map((i) => i + 1)),
    insertAt(at),
    at.map((end) => text.slice(0, end)),
    fc.tuple(at, fc.nat({ max: 20 })).map(([start, length]) => text.slice(0, start) + text.slice(start + length)),
    at.map((start) => {
      const lineStart = text.lastIndexOf('\n', start - 1) + 1;
      const lineEnd = text.indexOf('\n', start);
      const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd + 1);
      return text.slice(0, lineStart) + line + text.slice(lineStart);
    }),
  );
}

/** Every line of the message starts with the file; every syntax problem has a line within the file. */
function expectFileError(error: MigrationPlanError, file: string, text: string): void {
  expectWellFormed(error, file, { fieldPaths: false });
  // A lone CR ends a line as LF and CRLF do (YAML's b-break; editors show JSON so too), and so the loader counts.
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const problem of error.problems) {
    if (/syntax error/.test(problem.message)) {
      expect(problem.line).toBeGreaterThanOrEqual(1);
      expect(problem.line).toBeLessThanOrEqual(lines);
      expect(problem.column).toBeGreaterThanOrEqual(1);
    }
  }
}

const withoutPositions = (error: MigrationPlanError) =>
  error.problems.map(({ path, message }) => `${path}: ${message}`).sort();

describe('plan files', () => {
  test('valid documents load as the plan they describe, from YAML and from JSON', () => {
    fc.assert(
      fc.property(
        smallPlan,
        fc.nat({ max: 4 }),
        fc.constantFrom('.yaml', '.yml', '.json', '.JSON'),
        (document, indent, extension) => {
          const text = extension.toLowerCase() === '.json' ? asJson(document, indent) : asYaml(document);
          const { outcome } = load(extension, text);
          if (!('plan' in outcome))
            throw new Error(`a valid plan was refused:\n${outcome.error.message.slice(0, 2000)}`);
          expectDeepEqual(outcome.plan, parseMigrationPlan(document));
        },
      ),
      runs(100),
    );
  });

  test('damaged JSON: syntax errors exactly where JSON.parse fails, otherwise the same verdict as for the parsed value', () => {
    fc.assert(
      fc.property(
        smallPlan.chain((document) => damaged(asJson(document, 2))),
        (text) => {
          const { file, outcome } = load('.json', text);
          // The file holds UTF-8: a surrogate half cut off by the damage reads back as U+FFFD.
          const written = Buffer.from(text).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(written.replace(/^\ufeff/, ''));
          } catch {
            if ('plan' in outcome) throw new Error('JSON.parse refuses the text, but the plan loaded');
            expectFileError(outcome.error, file, text);
            expect(outcome.error.problems).toEqual([
              expect.objectContaining({ message: expect.stringMatching(/^JSON syntax error/) }),
            ]);
            return;
          }
          const expected = outcomeOf(() => parseMigrationPlan(parsed));
          if ('plan' in outcome) {
            expect('plan' in expected).toBe(true);
            expectDeepEqual(outcome.plan, (expected as { plan: unknown }).plan);
            return;
          }
          expectFileError(outcome.error, file, text);
          // Repeated keys are the one thing JSON.parse lets through (the last one wins).
          if (outcome.error.problems.some((p) => p.message.startsWith('duplicate key'))) return;
          expect('error' in expected).toBe(true);
          expect(withoutPositions(outcome.error)).toEqual(
            withoutPositions((expected as { error: MigrationPlanError }).error),
          );
        },
      ),
      runs(300),
    );
  });

  test('damaged YAML: a plan, or an error that starts with the file path and gives syntax errors a line', () => {
    fc.assert(
      fc.property(
        smallPlan.chain((document) => damaged(asYaml(document))),
        fc.constantFrom('.yaml', '.yml'),
        (text, extension) => {
          const { file, outcome } = load(extension, text);
          if ('error' in outcome) expectFileError(outcome.error, file, text);
        },
      ),
      runs(150),
    );
  });

  test('random text and bytes under any plan extension', () => {
    const content = fc.oneof(
      fc.string({ unit: anyCodePoint, maxLength: 300 }),
      fc.string({ unit: fc.constantFrom(...'{}[]:,"\'- \n\t#&*!|>?%@`abc123'), maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'),
    );
    fc.assert(
      fc.property(content, fc.constantFrom('.yaml', '.yml', '.json'), (bytes, extension) => {
        const { file, outcome } = load(extension, bytes);
        expect('error' in outcome).toBe(true);
        if ('error' in outcome) expectFileError(outcome.error, file, Buffer.from(bytes).toString('utf8'));
      }),
      // A run once found this: a JSON syntax error after a lone CR, on line 2 of what '\n' alone makes one line.
      { ...runs(300), examples: [['\r\u0000', '.json']] },
    );
  });
});
