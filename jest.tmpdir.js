/**
 * One temporary folder per jest run, removed when the run ends: jest.config.js names this file as both its
 * globalSetup (the first call: makes the folder and points TMPDIR at it) and its globalTeardown (the second call:
 * removes it and gives TMPDIR back). jest runs both in its own process, before it starts the workers and after they
 * end, so the workers inherit TMPDIR, and os.tmpdir() in every test file (and in every process a test starts with
 * the environment it was given) is that folder.
 *
 * cdktf's Testing.app(), Testing.fullSynth() and Testing.synthScope() make a temporary output folder per call and
 * never remove it (node_modules/cdktf/lib/testing/index.js), and the Fabric hosts' staged assets remove theirs when
 * the process exits, which a jest worker's test environment never tells them (its `process` is its own object): a
 * unit run left about 1,600 folders (94 MB) in the temporary directory, the CDK Terrain test's about 1,500.
 *
 * Removed whether the run passed or failed: no test reads another run's files, and a test's own temporary files
 * hold nothing its failure message does not say. KEEP_JEST_TMPDIR=1 keeps the folder and prints where it is.
 * jest's cache folder is not in it: jest reads os.tmpdir() for that when it loads its configuration, before this.
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** The folder's name starts with this, inside the temporary directory the run was started with. */
const PREFIX = 'adm-jest-';

/** This run's folder and the TMPDIR it replaced, between the two calls (one module: jest requires it twice). */
let run;

function setUp() {
  const folder = mkdtempSync(join(tmpdir(), PREFIX));
  run = { folder, previousTmpdir: process.env.TMPDIR };
  process.env.TMPDIR = folder;
}

function tearDown() {
  const { folder, previousTmpdir } = run;
  run = undefined;
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  if (process.env.KEEP_JEST_TMPDIR === '1') {
    console.log(`\nKEEP_JEST_TMPDIR=1: this run's temporary files are kept in ${folder}`);
    return;
  }
  try {
    rmSync(folder, { recursive: true, force: true });
  } catch (error) {
    throw new Error(`Could not remove this jest run's temporary folder ${folder}: ${error.message}. A test left a file it cannot remove there; remove the folder by hand.`);
  }
}

module.exports = async function runTemporaryFolder() {
  if (run === undefined) setUp();
  else tearDown();
};
module.exports.PREFIX = PREFIX;
