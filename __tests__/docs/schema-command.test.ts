/** `npm run schema` (scripts/generate-schema.ts) writing its file: whole or not at all, as `npm run diagram --out`. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, SCHEMA_PATH, schemaFileText } from '../../scripts/generate-schema';
import { withFullDisk } from '../helpers/full-disk';

describe('npm run schema', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-command-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function runSchema(args: string[], file: string) {
    let stdout = '';
    let stderr = '';
    const code = main(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } }, file);
    return { code, stdout, stderr };
  }

  test('writes the schema, and --check then finds it up to date', () => {
    const file = join(dir, 'migration-plan.schema.json');
    expect(runSchema([], file)).toEqual({ code: 0, stdout: `Wrote ${SCHEMA_PATH}\n`, stderr: '' });
    expect(readFileSync(file, 'utf8')).toBe(schemaFileText());
    expect(runSchema(['--check'], file)).toEqual({ code: 0, stdout: `${SCHEMA_PATH} is up to date\n`, stderr: '' });
  });

  test('stopped by a full disk, leaves the file as it was, says so, and leaves nothing beside it (was: the schema cut short)', () => {
    const file = join(dir, 'migration-plan.schema.json');
    writeFileSync(file, '{"old": true}\n');
    const result = withFullDisk(() => runSchema([], file));
    expect(result).toEqual({ code: 1, stdout: '', stderr: `Cannot write ${SCHEMA_PATH}: ENOSPC: no space left on device, write\nIt is as it was.\n` });
    expect(readFileSync(file, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(dir)).toEqual(['migration-plan.schema.json']);
  });
});
