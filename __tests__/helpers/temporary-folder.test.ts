import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { temporaryFolder } from './temporary-folder';

describe('temporaryFolder', () => {
  let made: string | undefined;

  it('makes a new folder in the temporary directory, named with the prefix', () => {
    made = temporaryFolder('adm-temporary-folder-test-');
    expect(existsSync(made)).toBe(true);
    expect(dirname(made)).toBe(tmpdir());
    expect(made).toMatch(/adm-temporary-folder-test-[^/]{6}$/);
  });

  it('removes it after the test that made it', () => {
    expect(made).toBeDefined();
    expect(existsSync(made!)).toBe(false);
  });
});
