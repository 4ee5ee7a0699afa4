/**
 * Writes `schema/migration-plan.schema.json`, the JSON Schema editors use to complete and check
 * plan files. It comes from the same zod definition as the validator (`migrationPlanJsonSchema()`);
 * this script only adds the schema's identity and a note on what editors cannot check.
 *
 *   npm run schema              regenerate the file
 *   npm run schema -- --check   exit 1 if the committed file is stale (for CI)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrationPlanJsonSchema } from '../lib/plan';
import { isFileSystemError } from '../lib/private/file-system-error';
import { replaceFile } from './replace-file';
import { repoRoot } from './repo-root';

/** Where the schema lives, relative to the repository (and the installed package). */
export const SCHEMA_PATH = 'schema/migration-plan.schema.json';

const EDITOR_LIMITS =
  'Editors check the shape, types, formats, ranges and defaults. Rules across fields (server and ' +
  'dependsOn references, dependency cycles, what each target kind needs) are checked when the plan ' +
  'is loaded (loadMigrationPlan, npm run synth).';

/** The schema file's content: stable key order, two-space indentation, final newline. */
export function schemaFileText(): string {
  const { $schema, title, description, ...definition } = migrationPlanJsonSchema();
  const { name } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { name: string };
  const document = {
    $schema,
    // Absolute and stable, and it does not pretend to be a download URL.
    $id: `urn:npm:${name}:${SCHEMA_PATH}`,
    title,
    description: `${String(description)} ${EDITOR_LIMITS}`,
    ...definition,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Runs the command; returns the exit code. `file` is the schema file (another in tests). */
export function main(
  args: readonly string[],
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } } = process,
  file = join(repoRoot(), SCHEMA_PATH),
): number {
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    io.stderr.write(`Unknown argument ${unknown[0]}. Usage: npm run schema [-- --check]\n`);
    return 2;
  }
  const text = schemaFileText();
  if (args.includes('--check')) {
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) {
      io.stdout.write(`${SCHEMA_PATH} is up to date\n`);
      return 0;
    }
    io.stderr.write(`${SCHEMA_PATH} is ${current === undefined ? 'missing' : 'stale'}: run npm run schema\n`);
    return 1;
  }
  mkdirSync(dirname(file), { recursive: true });
  try {
    // Whole or not at all: editors and the DAG read this file, and a full disk cut it short.
    replaceFile(file, text);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    io.stderr.write(`Cannot write ${SCHEMA_PATH}: ${error.message}\nIt is as it was.\n`);
    return 1;
  }
  io.stdout.write(`Wrote ${SCHEMA_PATH}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
