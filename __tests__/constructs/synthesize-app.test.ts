/**
 * synthesizeApp in the test's own process: an async build is awaited before the synth, and the
 * process handlers it adds go once its promise settles, whichever way.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformStack } from 'cdktf';
import { StagedOutput } from '../../lib/private/staged-output';
import { synthesizeApp } from '../../lib/synthesize-app';

const HANDLED_EVENTS = ['exit', 'SIGINT', 'SIGTERM'] as const;
const listenerCounts = () => HANDLED_EVENTS.map((event) => process.listenerCount(event));

describe('synthesizeApp', () => {
  let root: string;
  let outdir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'synthesize-app-'));
    outdir = join(root, 'cdktf.out');
    // A mistake would exit the test's process: make it a failure instead.
    jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)})`);
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  it('awaits an async build: the stacks it adds after an await are in the output folder', async () => {
    const built = await synthesizeApp(
      async (app) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new TerraformStack(app, 'late');
      },
      { outdir },
    );
    expect(built.node.id).toBe('late');
    expect(existsSync(join(outdir, 'stacks', 'late', 'cdk.tf.json'))).toBe(true);
    expect(readdirSync(outdir).filter((name) => name.startsWith('.synth-'))).toEqual([]);
  });

  it('rejects with the error of an async build that fails (a bug), leaving no staging folder or output folder of its own', async () => {
    const bug = new TypeError('plan.databases is undefined');
    await expect(
      synthesizeApp(async () => {
        await Promise.resolve();
        throw bug;
      }, { outdir }),
    ).rejects.toBe(bug);
    expect(existsSync(outdir)).toBe(false);
  });

  it('takes its process handlers away once its promise settles: resolved, or rejected by a bug', async () => {
    const before = listenerCounts();
    await synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir });
    expect(listenerCounts()).toEqual(before);
    expect(() =>
      synthesizeApp(() => {
        throw new TypeError('bug');
      }, { outdir }),
    ).toThrow('bug');
    expect(listenerCounts()).toEqual(before);
    expect(readdirSync(outdir).filter((name) => name.startsWith('.synth-'))).toEqual([]);
  });

  it('rejects with an error thrown while publishing, instead of throwing it where no caller catches it', async () => {
    const bug = new TypeError('publish failed');
    jest.spyOn(StagedOutput.prototype, 'publish').mockImplementation(() => {
      throw bug;
    });
    const before = listenerCounts();
    await expect(synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir })).rejects.toBe(bug);
    expect(listenerCounts()).toEqual(before);
    expect(existsSync(outdir)).toBe(false);
  });
});
