/**
 * The public API is deliberate: `lib/index.ts` names every export (no `export *`, which would
 * publish whatever a module happens to export), and nothing under `lib/private/` is reachable from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { apiSurface } from './api-surface';

const LIB = join(__dirname, '..', '..', 'lib');
const FIXTURE = join(__dirname, 'fixtures', 'surface');

interface SurfaceProblems {
  /** `export *` declarations of the entry. */
  readonly exportStars: string[];
  /** `name (file)` of each export declared under `private/`. */
  readonly privateExports: string[];
}

function surfaceProblems(entry: string, libraryRoot: string): SurfaceProblems {
  const source = ts.createSourceFile(entry, readFileSync(entry, 'utf8'), ts.ScriptTarget.ES2022);
  const exportStars = source.statements
    .filter((statement): statement is ts.ExportDeclaration => ts.isExportDeclaration(statement) && statement.exportClause === undefined)
    .map((statement) => statement.getText(source));
  const { exports, fileOf } = apiSurface(entry, libraryRoot);
  const privateExports = exports.flatMap(({ name, declarations }) =>
    declarations.filter((declaration) => fileOf(declaration).split(/[\\/]/).includes('private')).map((declaration) => `${name} (${fileOf(declaration)})`),
  );
  return { exportStars, privateExports };
}

describe('the public surface of lib/index.ts', () => {
  const problems = surfaceProblems(join(LIB, 'index.ts'), LIB);

  test('names every export: no export *', () => {
    expect(problems.exportStars).toEqual([]);
  });

  test('reaches nothing under lib/private/', () => {
    expect(problems.privateExports).toEqual([]);
  });

  test('the plan folder names its exports too (lib/index.ts re-exports from it)', () => {
    expect(surfaceProblems(join(LIB, 'plan', 'index.ts'), LIB).exportStars).toEqual([]);
  });
});

describe('the public-surface check', () => {
  test('reports an export * and a private helper exported by name, and nothing else', () => {
    expect(surfaceProblems(join(FIXTURE, 'index.ts'), FIXTURE)).toEqual({
      exportStars: ["export * from './helpers';"],
      privateExports: [`internalName (${join('private', 'naming.ts')})`],
    });
  });
});
