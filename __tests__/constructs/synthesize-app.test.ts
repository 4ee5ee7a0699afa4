/**
 * synthesizeApp in the test's own process: an async build is awaited before the synth, and the
 * process handlers it adds go once its promise settles, whichever way. A second call while one
 * synthesizes into the same output folder is run in a process of its own, which it ends.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects, TerraformStack } from 'cdktf';
import { StagedOutput } from '../../lib/private/staged-output';
import { synthesizeApp } from '../../lib/synthesize-app';

const REPO = join(__dirname, '..', '..');
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

  it.each([
    ['a build that throws it', (app: App) => {
      new TerraformStack(app, 'a');
      throw new TypeError('plan.databases is undefined');
    }],
    ['a construct while app.synth() runs', (app: App) => {
      Aspects.of(new TerraformStack(app, 'a')).add({ visit: () => { throw new TypeError('plan.databases is undefined'); } });
    }],
  ])('rejects, not throws, with a bug of %s: a caller catching the promise sees it (was thrown at the call), nothing written', async (_, build) => {
    let returned: Promise<unknown> | undefined;
    expect(() => {
      returned = synthesizeApp(build, { outdir });
    }).not.toThrow();
    await expect(returned).rejects.toThrow(new TypeError('plan.databases is undefined'));
    expect(existsSync(outdir)).toBe(false);
  });

  it('takes its process handlers away once its promise settles: resolved, or rejected by a bug', async () => {
    const before = listenerCounts();
    await synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir });
    expect(listenerCounts()).toEqual(before);
    await expect(
      synthesizeApp(() => {
        throw new TypeError('bug');
      }, { outdir }),
    ).rejects.toThrow('bug');
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

  it.each([
    ['a build that throws a mistake', () => synthesizeApp(() => {
      throw new Error('no databases');
    }, { outdir })],
    ['an async build that rejects with a mistake', () => synthesizeApp(async () => {
      await Promise.resolve();
      throw new Error('no databases');
    }, { outdir })],
    ['a stack that fails its validation in app.synth()', () => synthesizeApp((app) => {
      new TerraformStack(app, 'a').node.addValidation({ validate: () => ['no databases'] });
    }, { outdir })],
    ['an App that cannot be made (CDKTF_CONTEXT_JSON not JSON)', () => {
      process.env.CDKTF_CONTEXT_JSON = '{';
      try {
        return synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir });
      } finally {
        delete process.env.CDKTF_CONTEXT_JSON;
      }
    }],
  ])(
    'releases the output folder and its process handlers after %s whose exit does not end the process (a test mocking process.exit to throw): the next call synthesizes (was: refused as "called again")',
    async (_, failing: () => Promise<unknown>) => {
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const before = listenerCounts();
      await expect(Promise.resolve().then(failing)).rejects.toThrow();
      stderr.mockRestore();
      expect(listenerCounts()).toEqual(before);
      await synthesizeApp((app) => new TerraformStack(app, 'b'), { outdir });
      expect(readdirSync(join(outdir, 'stacks'))).toEqual(['b']);
      expect(readdirSync(outdir).filter((name) => name.startsWith('.synth-'))).toEqual([]);
    },
  );

  /** Every file under `folder` with its content, by path. */
  const snapshot = (folder: string) =>
    Object.fromEntries(
      readdirSync(folder, { recursive: true, encoding: 'utf8' })
        .filter((file) => statSync(join(folder, file)).isFile())
        .sort()
        .map((file) => [file, readFileSync(join(folder, file), 'utf8')]),
    );

  /** `main` run by node in the repository's folder, lib/ loaded from its TypeScript (esbuild strips the types, as jest's transform does). */
  function runApp(main: string) {
    const hook = join(root, 'ts-hook.cjs');
    writeFileSync(
      hook,
      `const { readFileSync } = require('node:fs');
const { transformSync } = require(${JSON.stringify(require.resolve('esbuild'))});
require.extensions['.ts'] = (module, file) => module._compile(transformSync(readFileSync(file, 'utf8'), { loader: 'ts', format: 'cjs', target: 'es2022' }).code, file);
`,
    );
    const script = `const { TerraformStack } = require('cdktf');\nconst { synthesizeApp } = require('./lib/synthesize-app.ts');\n${main}`;
    return spawnSync(process.execPath, ['-r', hook, '-e', script], { cwd: REPO, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  }

  const refusal = (folder: string) => [
    `synthesizeApp was called again while an earlier call was still synthesizing into ${folder}: both would publish there, ` +
      'the manifest.json of the last to finish naming only its own stacks. Call synthesizeApp once, with a build that adds every stack: ' +
      'synthesizeApp((app) => { new DatabaseMigrationStack(app, first.name, { plan: first }); new DatabaseMigrationStack(app, second.name, { plan: second }); })',
    'Nothing was synthesized.',
    '',
  ];

  it.each([
    ['one after the other, unawaited (two stacks files each calling it)', false],
    ['the second while the first awaits its async build, naming the folder through a link', true],
  ])(
    'refuses the second call while the first synthesizes into the same output folder, %s: exit 1, the one call to make, no stack trace, the output folder as it was (was: both published, manifest.json naming the last one\'s stacks only)',
    (_, throughLink) => {
      // An earlier synth's output, which must stay byte for byte.
      mkdirSync(join(outdir, 'stacks', 'earlier'), { recursive: true });
      writeFileSync(join(outdir, 'manifest.json'), '{"stacks":{"earlier":{}}}');
      writeFileSync(join(outdir, 'stacks', 'earlier', 'cdk.tf.json'), '{"earlier":1}');
      const link = join(root, 'link-to-out');
      symlinkSync(outdir, link);
      const second = throughLink ? link : outdir;
      const before = snapshot(outdir);
      const result = runApp(
        throughLink
          ? `synthesizeApp(async (app) => { await new Promise((resolve) => setTimeout(resolve, 20)); return new TerraformStack(app, 'a'); }, { outdir: ${JSON.stringify(outdir)} });
setTimeout(() => synthesizeApp((app) => new TerraformStack(app, 'b'), { outdir: ${JSON.stringify(second)} }), 5);`
          : `synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir: ${JSON.stringify(outdir)} });
synthesizeApp((app) => new TerraformStack(app, 'b'), { outdir: ${JSON.stringify(second)} });`,
      );
      expect(result.stderr.split('\n')).toEqual(refusal(second));
      expect(result.status).toBe(1);
      expect(snapshot(outdir)).toEqual(before);
      expect(readdirSync(outdir).sort()).toEqual(['manifest.json', 'stacks']);
    },
  );

  it('lets calls one after another (each awaited) publish in turn, as two synths do, and calls into different output folders run side by side', async () => {
    await synthesizeApp((app) => new TerraformStack(app, 'a'), { outdir });
    await synthesizeApp((app) => new TerraformStack(app, 'b'), { outdir });
    expect(readdirSync(join(outdir, 'stacks')).sort()).toEqual(['a', 'b']);
    expect(Object.keys(JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')).stacks)).toEqual(['b']);
    const other = join(root, 'other.out');
    await Promise.all([
      synthesizeApp((app) => new TerraformStack(app, 'c'), { outdir }),
      synthesizeApp((app) => new TerraformStack(app, 'd'), { outdir: other }),
    ]);
    expect(existsSync(join(outdir, 'stacks', 'c', 'cdk.tf.json'))).toBe(true);
    expect(readdirSync(join(other, 'stacks'))).toEqual(['d']);
    expect(readdirSync(outdir).filter((name) => name.startsWith('.synth-'))).toEqual([]);
  });
});
