/** `npm run schema` (scripts/generate-schema.ts) writing its file: whole or not at all, as `npm run diagram --out`. */
// The module object itself (an ES namespace's bindings cannot be spied on): a test fills the disk through it.
import fs = require('node:fs');
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, SCHEMA_PATH, schemaFileText } from '../../scripts/generate-schema';

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
    const write = fs.writeFileSync;
    // The disk fills after half of what is written.
    const full = jest.spyOn(fs, 'writeFileSync').mockImplementation((target, data, options) => {
      write(target, String(data).slice(0, String(data).length / 2), options);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    });
    let result: ReturnType<typeof runSchema>;
    try {
      result = runSchema([], file);
    } finally {
      full.mockRestore();
    }
    expect(result).toEqual({ code: 1, stdout: '', stderr: `Cannot write ${SCHEMA_PATH}: ENOSPC: no space left on device, write\nIt is as it was.\n` });
    expect(readFileSync(file, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(dir)).toEqual(['migration-plan.schema.json']);
  });
});
