/**
 * A test's own temporary folder, removed after the test: jest gives every test file its own copy of this module,
 * and the afterEach below belongs to the file that imports it. Call it inside a test or a beforeEach (a folder made
 * in a beforeAll would go after the first test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

afterEach(() => {
  for (const folder of made.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A new folder in the temporary directory, its name starting with `prefix`, removed after the current test. */
export function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  made.push(folder);
  return folder;
}
