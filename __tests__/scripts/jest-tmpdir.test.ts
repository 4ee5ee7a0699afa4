/**
 * jest.tmpdir.js, the unit and slow suites' globalSetup and globalTeardown: the first call makes the run's temporary
 * folder and points TMPDIR at it (jest's workers and every process a test starts inherit it), the second removes it
 * and gives TMPDIR back. Here it runs in a test file, whose `process.env` is jest's copy (os.tmpdir() reads the real
 * one), as jest runs it in its own process.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const REPO = join(__dirname, '..', '..');

describe('jest.tmpdir.js', () => {
  let runTemporaryFolder: () => Promise<void>;
  const saved = { TMPDIR: process.env.TMPDIR, KEEP_JEST_TMPDIR: process.env.KEEP_JEST_TMPDIR };
  beforeEach(() => {
    delete process.env.KEEP_JEST_TMPDIR;
    jest.isolateModules(() => {
      runTemporaryFolder = require('../../jest.tmpdir.js');
    });
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('is the globalSetup and the globalTeardown of the unit suite (and so of the slow suite, which extends its config)', () => {
    const config = { rootDir: REPO, ...require('../../jest.config.js') };
    expect(config.globalSetup.replace('<rootDir>', config.rootDir)).toBe(join(REPO, 'jest.tmpdir.js'));
    expect(config.globalTeardown.replace('<rootDir>', config.rootDir)).toBe(join(REPO, 'jest.tmpdir.js'));
  });

  it('points TMPDIR at a new folder in the temporary directory, then removes it with what the run left and gives TMPDIR back', async () => {
    process.env.TMPDIR = '/the/temporary/directory/before';
    await runTemporaryFolder();
    const folder = process.env.TMPDIR!;
    expect(dirname(folder)).toBe(tmpdir());
    expect(folder).toMatch(/\/adm-jest-[^/]{6}$/);
    // What cdktf's Testing.app() leaves: a folder per call, never removed.
    mkdtempSync(join(folder, 'cdktf.outdir.'));
    writeFileSync(join(folder, 'file'), 'x');

    await runTemporaryFolder();
    expect(process.env.TMPDIR).toBe('/the/temporary/directory/before');
    expect(existsSync(folder)).toBe(false);
  });

  it('leaves TMPDIR unset after the run when it was unset before', async () => {
    delete process.env.TMPDIR;
    await runTemporaryFolder();
    const folder = process.env.TMPDIR!;
    expect(existsSync(folder)).toBe(true);
    await runTemporaryFolder();
    expect(process.env.TMPDIR).toBeUndefined();
    expect(existsSync(folder)).toBe(false);
  });

  it('keeps the folder with KEEP_JEST_TMPDIR=1, and says where', async () => {
    process.env.KEEP_JEST_TMPDIR = '1';
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await runTemporaryFolder();
    const folder = process.env.TMPDIR!;
    try {
      writeFileSync(join(folder, 'file'), 'x');
      await runTemporaryFolder();
      expect(readdirSync(folder)).toEqual(['file']);
      expect(log).toHaveBeenCalledWith(`\nKEEP_JEST_TMPDIR=1: this run's temporary files are kept in ${folder}`);
    } finally {
      log.mockRestore();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
