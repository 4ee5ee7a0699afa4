/**
 * scripts/build-app.mjs skips esbuild when nothing the app bundle is built from changed
 * (scripts/app-bundle-stamp.cjs). A stale bundle would synthesize an old library, so each way an input
 * can change is planted here and must rebuild; only an untouched build is skipped. The builds are real
 * (esbuild, in this process, as build-app.mjs runs it) of a small project of their own in a folder of
 * their own: a main.ts, a module beside it and a package in its node_modules; build-app.mjs itself runs on
 * it too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build as esbuild, version, type BuildOptions, type Plugin, type PluginBuild } from 'esbuild';
import { buildUnlessCurrent, inputRecorder, newRecording, stampOf, staleness } from '../../scripts/app-bundle-stamp.cjs';

const REPO = join(__dirname, '..', '..');
const BUILD_APP = join(REPO, 'scripts', 'build-app.mjs');

describe('the app bundle build skipped when nothing it is built from changed', () => {
  let project: string;
  const at = (...names: string[]) => join(project, ...names);
  const bundle = () => readFileSync(at('out', 'app-bundle.js'), 'utf8');
  const stampFile = () => at('out', 'app-bundle.stamp.json');
  const readStamp = () => JSON.parse(readFileSync(stampFile(), 'utf8'));
  /** build-app.mjs's options, for this project. */
  const options = (): BuildOptions => ({
    absWorkingDir: project,
    entryPoints: ['main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    minifySyntax: true,
    sourcemap: true,
    logLevel: 'silent',
    outfile: 'out/app-bundle.js',
    write: false,
  });
  const settingsFor = (changes: Record<string, unknown> = {}) => ({ esbuild: version, cwd: project, options: { ...options(), absWorkingDir: undefined }, scripts: ['build'], ...changes });
  let warnings: string[] = [];

  /** What build-app.mjs does: whether esbuild ran. */
  const build = (settings = settingsFor(), afterWrite = () => {}) => {
    mkdirSync(at('out'), { recursive: true });
    return buildUnlessCurrent({
      stampFile: stampFile(),
      settings,
      async build(recorder: Plugin) {
        const result = await esbuild({ ...options(), metafile: true, plugins: [recorder] });
        warnings = result.warnings.map(({ text }) => text);
        for (const { path, contents } of result.outputFiles ?? []) writeFileSync(path, contents);
        afterWrite();
        return { metafile: result.metafile!, warnings: result.warnings, outputs: result.outputFiles ?? [] };
      },
    });
  };
  /** build() with more plugins after the recorder; an edit of an input makes the stamp stale. */
  const buildWith = (more: Plugin[]) => {
    writeFileSync(at('greeting.ts'), `${readFileSync(at('greeting.ts'), 'utf8')}// ${Date.now()}\n`);
    return buildUnlessCurrent({
      stampFile: stampFile(),
      settings: settingsFor(),
      async build(recorder: Plugin) {
        const result = await esbuild({ ...options(), metafile: true, plugins: [recorder, ...more] });
        for (const { path, contents } of result.outputFiles ?? []) writeFileSync(path, contents);
        return { metafile: result.metafile!, warnings: result.warnings, outputs: result.outputFiles ?? [] };
      },
    });
  };
  /** A plugin that makes `edit` while esbuild resolves './greeting' (after the imports before it in the file). */
  const editWhenResolvingGreeting = (edit: () => void): Plugin => ({
    name: 'edit-while-resolving',
    setup(builder) {
      builder.onResolve({ filter: /^\.\/greeting$/ }, () => {
        edit();
        return undefined;
      });
    },
  });
  const expectSkipped = async () => expect(await build()).toBe(false);
  const expectRebuilt = async () => expect(await build()).toBe(true);

  beforeEach(async () => {
    // In the repository (.app-bundle-*/ is ignored by git): esbuild lists every folder above an input, and the system's temporary folder can hold 100,000 entries.
    project = mkdtempSync(join(REPO, '.app-bundle-stamp-'));
    writeFileSync(at('main.ts'), "import { greeting } from './greeting';\nimport { shout } from 'shout';\nconsole.log(shout(greeting));\n");
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'hello';\n");
    mkdirSync(at('node_modules', 'shout'), { recursive: true });
    writeFileSync(at('node_modules', 'shout', 'package.json'), '{"name":"shout","version":"1.0.0","main":"index.js"}\n');
    writeFileSync(at('node_modules', 'shout', 'index.js'), "exports.shout = (text) => text.toUpperCase() + '!';\n");
    await expectRebuilt();
    expect(bundle()).toContain('"hello"');
  });

  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it('skips a build when nothing changed, leaving the stamp and the bundle as they were', async () => {
    const [bundleTime, stampTime] = [statSync(at('out', 'app-bundle.js')).mtimeMs, statSync(stampFile()).mtimeMs];
    await expectSkipped();
    await expectSkipped();
    expect([statSync(at('out', 'app-bundle.js')).mtimeMs, statSync(stampFile()).mtimeMs]).toEqual([bundleTime, stampTime]);
    expect(staleness(stampFile(), settingsFor())).toBeUndefined();
  });

  it("rebuilds after an edit that keeps the file's size and time (a naive size-and-time check would skip it)", async () => {
    const { size, atime, mtime } = statSync(at('greeting.ts'));
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'howdy';\n");
    utimesSync(at('greeting.ts'), atime, mtime);
    // The file system keeps the time to a fraction of a millisecond (…290.999 for …291).
    expect(statSync(at('greeting.ts'))).toMatchObject({ size, mtimeMs: expect.closeTo(mtime.getTime(), 0) });
    expect(staleness(stampFile(), settingsFor())).toBe('input greeting.ts changed');
    await expectRebuilt();
    expect(bundle()).toContain('"howdy"');
    await expectSkipped();
  });

  it('rebuilds after a package in node_modules changed, and after npm changed the lock files', async () => {
    writeFileSync(at('node_modules', 'shout', 'index.js'), "exports.shout = (text) => text.toUpperCase() + '!!';\n");
    await expectRebuilt();
    expect(bundle()).toContain('"!!"');
    writeFileSync(at('package-lock.json'), '{"lockfileVersion":3}\n');
    expect(staleness(stampFile(), settingsFor())).toBe('resolution file package-lock.json changed');
    await expectRebuilt();
    writeFileSync(at('node_modules', '.package-lock.json'), '{"lockfileVersion":3}\n');
    await expectRebuilt();
    await expectSkipped();
  });

  it('rebuilds when a new file would be resolved instead of an input (greeting.tsx before greeting.ts), and when it goes again', async () => {
    writeFileSync(at('greeting.tsx'), "export const greeting: string = 'shadowed';\n");
    expect(staleness(stampFile(), settingsFor())).toBe(`folder ${project} changed`);
    await expectRebuilt();
    expect(bundle()).toContain('"shadowed"');
    unlinkSync(at('greeting.tsx'));
    await expectRebuilt();
    expect(bundle()).toContain('"hello"');
  });

  it('rebuilds when a new file would be resolved instead of a folder import (lib/util.ts before lib/util/index.ts) in a folder that holds no input', async () => {
    mkdirSync(at('lib', 'util'), { recursive: true });
    writeFileSync(at('lib', 'util', 'index.ts'), "export const greeting: string = 'from the folder';\n");
    writeFileSync(at('main.ts'), "import { greeting } from './lib/util';\nconsole.log(greeting);\n");
    await expectRebuilt();
    await expectSkipped();
    writeFileSync(at('lib', 'util.ts'), "export const greeting: string = 'from the file';\n");
    expect(staleness(stampFile(), settingsFor())).toBe(`folder ${join('lib')} changed`);
    await expectRebuilt();
    expect(bundle()).toContain('"from the file"');
    await expectSkipped();
  });

  it('rebuilds when a linked file in a folder that holds no input points elsewhere (lib/greeting.ts, a link into shared/)', async () => {
    mkdirSync(at('shared'));
    writeFileSync(at('shared', 'a.ts'), "export const greeting: string = 'from a';\n");
    writeFileSync(at('shared', 'b.ts'), "export const greeting: string = 'from b';\n");
    mkdirSync(at('lib'));
    symlinkSync(join('..', 'shared', 'a.ts'), at('lib', 'greeting.ts'));
    writeFileSync(at('main.ts'), "import { greeting } from './lib/greeting';\nconsole.log(greeting);\n");
    await expectRebuilt();
    await expectSkipped();
    unlinkSync(at('lib', 'greeting.ts'));
    symlinkSync(join('..', 'shared', 'b.ts'), at('lib', 'greeting.ts'));
    await expectRebuilt();
    expect(bundle()).toContain('"from b"');
    await expectSkipped();
  });

  it("rebuilds when an input's own source map (its sourceMappingURL file, which esbuild reads) changed", async () => {
    const map = (source: string) => JSON.stringify({ version: 3, sources: [source], names: [], mappings: 'AAAA' });
    writeFileSync(at('node_modules', 'shout', 'index.js'), "exports.shout = (text) => text.toUpperCase() + '!';\n//# sourceMappingURL=index.js.map\n");
    writeFileSync(at('node_modules', 'shout', 'index.js.map'), map('shout-original.ts'));
    await expectRebuilt();
    expect(readFileSync(at('out', 'app-bundle.js.map'), 'utf8')).toContain('shout-original.ts');
    await expectSkipped();
    writeFileSync(at('node_modules', 'shout', 'index.js.map'), map('shout-renamed.ts'));
    await expectRebuilt();
    expect(readFileSync(at('out', 'app-bundle.js.map'), 'utf8')).toContain('shout-renamed.ts');
    await expectSkipped();
  });

  it("rebuilds when a package.json above an input changed (a package's entry point)", async () => {
    writeFileSync(at('node_modules', 'shout', 'quiet.js'), 'exports.shout = (text) => text.toLowerCase();\n');
    await expectRebuilt(); // the package's folder has a new name in it
    writeFileSync(at('node_modules', 'shout', 'package.json'), '{"name":"shout","version":"1.0.0","main":"quiet.js"}\n');
    expect(staleness(stampFile(), settingsFor())).toBe(`resolution file ${join('node_modules', 'shout', 'package.json')} changed`);
    await expectRebuilt();
    expect(bundle()).toContain('toLowerCase');
  });

  it("rebuilds after a package.json changed while esbuild ran, after esbuild read it (the package's entry point)", async () => {
    writeFileSync(at('node_modules', 'shout', 'quiet.js'), 'exports.shout = (text) => text.toLowerCase();\n');
    // 'shout' before './greeting': esbuild resolves a file's imports in order, so it has read shout's package.json when it comes to './greeting'.
    writeFileSync(at('main.ts'), "import { shout } from 'shout';\nimport { greeting } from './greeting';\nconsole.log(shout(greeting));\n");
    await expectRebuilt();
    const edit = () => writeFileSync(at('node_modules', 'shout', 'package.json'), '{"name":"shout","version":"1.0.0","main":"quiet.js"}\n');
    expect(await buildWith([editWhenResolvingGreeting(edit)])).toBe(true);
    expect(bundle()).toContain('toUpperCase');
    await expectRebuilt();
    expect(bundle()).toContain('toLowerCase');
  });

  it("rebuilds after a folder's tsconfig.json changed while esbuild ran, after esbuild read it (resolving an import there)", async () => {
    mkdirSync(at('sub'));
    writeFileSync(at('sub', 'tsconfig.json'), '{"compilerOptions":{"useDefineForClassFields":true}}\n');
    writeFileSync(at('sub', 'x.ts'), "export class Greeting { text = 'hello'; }\n");
    // './sub/x' before './greeting': esbuild resolves a file's imports in order, reading sub/tsconfig.json for the first.
    writeFileSync(at('main.ts'), "import { Greeting } from './sub/x';\nimport { greeting } from './greeting';\nconsole.log(new Greeting().text, greeting);\n");
    await expectRebuilt();
    const edit = () => writeFileSync(at('sub', 'tsconfig.json'), '{"compilerOptions":{"useDefineForClassFields":false}}\n');
    expect(await buildWith([editWhenResolvingGreeting(edit)])).toBe(true);
    expect(readFileSync(at('sub', 'tsconfig.json'), 'utf8')).toContain('false');
    const built = bundle();
    // Built with the tsconfig.json esbuild read before the edit: a class field, not a constructor's assignment.
    expect(built).not.toMatch(/this\.text\s*=/);
    await expectRebuilt();
    expect(bundle()).toMatch(/this\.text\s*=/);
  });

  it('rebuilds when a linked package points elsewhere (npm link), its files unchanged', async () => {
    for (const [name, suffix] of [['shout-a', '!'], ['shout-b', '?']]) {
      mkdirSync(at(name));
      writeFileSync(at(name, 'package.json'), '{"name":"shout","version":"1.0.0","main":"index.js"}\n');
      writeFileSync(at(name, 'index.js'), `exports.shout = (text) => text.toUpperCase() + '${suffix}';\n`);
    }
    rmSync(at('node_modules', 'shout'), { recursive: true });
    symlinkSync(at('shout-a'), at('node_modules', 'shout'));
    await expectRebuilt();
    await expectSkipped();
    unlinkSync(at('node_modules', 'shout'));
    symlinkSync(at('shout-b'), at('node_modules', 'shout'));
    expect(staleness(stampFile(), settingsFor())).toBe(`folder ${join('node_modules')} changed`);
    await expectRebuilt();
    expect(bundle()).toContain('"?"');
  });

  it("runs the build (which fails with esbuild's message) when an input was deleted, and keeps no stamp", async () => {
    unlinkSync(at('greeting.ts'));
    await expect(build()).rejects.toThrow(/Could not resolve "\.\/greeting"/);
    expect(() => statSync(stampFile())).toThrow();
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'hello';\n");
    await expectRebuilt();
    await expectSkipped();
  });

  it.each([
    ['deleted', () => unlinkSync(at('out', 'app-bundle.js'))],
    ['edited (same size)', () => writeFileSync(at('out', 'app-bundle.js'), bundle().replace('"hello"', '"HELLO"'))],
    ['its source map deleted', () => unlinkSync(at('out', 'app-bundle.js.map'))],
  ])('rebuilds when the output bundle was %s', async (_, change) => {
    const built = bundle();
    change();
    await expectRebuilt();
    expect(bundle()).toBe(built);
    expect(statSync(at('out', 'app-bundle.js.map')).size).toBeGreaterThan(0);
  });

  it('stamps the bundle it wrote, not one another build wrote over it before the stamp (builds side by side)', async () => {
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'howdy';\n");
    const older = bundle();
    // The other build, of the sources before the edit, finishes writing just after this one.
    expect(await build(settingsFor(), () => writeFileSync(at('out', 'app-bundle.js'), older))).toBe(true);
    await expectRebuilt();
    expect(bundle()).toContain('"howdy"');
  });

  it.each([
    ['esbuild version', { esbuild: '0.27.0' }],
    ['esbuild option', { options: { minifySyntax: false } }],
    ['build script', { scripts: ['changed'] }],
  ])('rebuilds with another %s, and skips the next build with it', async (_, changes) => {
    expect(staleness(stampFile(), settingsFor(changes))).toBe('the build settings changed');
    expect(await build(settingsFor(changes))).toBe(true);
    expect(await build(settingsFor(changes))).toBe(false);
    expect(await build(settingsFor())).toBe(true);
  });

  it('rebuilds without a stamp, or with a damaged one', async () => {
    unlinkSync(stampFile());
    await expectRebuilt();
    writeFileSync(stampFile(), '{"format":1,');
    await expectRebuilt();
    writeFileSync(stampFile(), JSON.stringify({ ...readStamp(), inputs: {} }));
    await expectRebuilt();
    await expectSkipped();
  });

  it('does not skip a build that warned, so each build prints its warnings again', async () => {
    writeFileSync(at('greeting.ts'), "export const greeting: string = ({ text: 'hello', text: 'again' } as any).text;\n");
    await expectRebuilt();
    expect(warnings).toEqual([expect.stringMatching(/Duplicate key "text"/)]);
    expect(() => statSync(stampFile())).toThrow();
    await expectRebuilt();
  });

  it('hashes a file, and lists its folder, before esbuild loads it, and vouches for no build with an input it did not hash', () => {
    const recording = newRecording(project);
    let onLoad: ((args: { path: string; namespace: string }) => unknown) | undefined;
    inputRecorder(recording).setup({ onResolve: () => {}, onLoad: (_options: unknown, callback: typeof onLoad) => (onLoad = callback) } as unknown as PluginBuild);
    expect(onLoad?.({ path: at('greeting.ts'), namespace: 'file' })).toBeUndefined();
    // Changes after the load leave the digests of what esbuild read: the next build sees them.
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'later';\n");
    writeFileSync(at('greeting.tsx'), "export const greeting: string = 'shadowed';\n");
    expect(recording.inputs.get(at('greeting.ts'))).toBe(readStamp().inputs[at('greeting.ts')]);
    expect(recording.folders.get(project)).toBe(readStamp().folders[project]);
    const build = { settings: { cwd: project }, cwd: project, recording, outputs: [] };
    expect(stampOf({ ...build, metafileInputs: { 'greeting.ts': {} } })?.inputs).toEqual({ [at('greeting.ts')]: recording.inputs.get(at('greeting.ts')) });
    expect(stampOf({ ...build, metafileInputs: { 'greeting.ts': {}, 'main.ts': {} } })).toBeUndefined();
  });

  it('builds, unstamped, where a file it records cannot be read (was: the recorder\'s error failed the build)', async () => {
    const recording = newRecording(project);
    let onLoad: ((args: { path: string; namespace: string }) => unknown) | undefined;
    inputRecorder(recording).setup({ onResolve: () => {}, onLoad: (_options: unknown, callback: typeof onLoad) => (onLoad = callback) } as unknown as PluginBuild);
    // A file where a folder is expected reads as missing; a name too long for the system cannot be read at all.
    expect(onLoad?.({ path: join(project, 'x'.repeat(300), 'index.js'), namespace: 'file' })).toBeUndefined();
    expect(stampOf({ settings: { cwd: project }, cwd: project, recording, metafileInputs: {}, outputs: [] })).toBeUndefined();
  });

  it('never skips a project whose tsconfig.json extends another file (which it does not follow)', async () => {
    writeFileSync(at('tsconfig.base.json'), '{"compilerOptions":{}}\n');
    writeFileSync(at('tsconfig.json'), '{"extends":"./tsconfig.base.json"}\n');
    await expectRebuilt();
    expect(() => statSync(stampFile())).toThrow();
    writeFileSync(at('tsconfig.json'), '{"compilerOptions":{}}\n');
    await expectRebuilt();
    await expectSkipped();
  });

  it.each([
    ['paths', '{"compilerOptions":{"baseUrl":".","paths":{"@g/*":["overrides/*","src/*"]}}}\n', "import { greeting } from '@g/greeting';"],
    ['baseUrl', '{"compilerOptions":{"baseUrl":"overrides"}}\n', "import { greeting } from 'greeting';"],
  ])(
    'never skips a project whose tsconfig.json has %s (a new file in a folder it names, holding no input, would be resolved instead)',
    async (_, tsconfig, importLine) => {
      mkdirSync(at('overrides'));
      writeFileSync(at('overrides', 'README.md'), 'Files here win over src/ and node_modules.\n');
      mkdirSync(at('src'));
      writeFileSync(at('src', 'greeting.ts'), "export const greeting: string = 'from src';\n");
      mkdirSync(at('node_modules', 'greeting'));
      writeFileSync(at('node_modules', 'greeting', 'index.js'), "exports.greeting = 'from node_modules';\n");
      writeFileSync(at('tsconfig.json'), tsconfig);
      writeFileSync(at('main.ts'), `${importLine}\nconsole.log(greeting);\n`);
      await expectRebuilt();
      writeFileSync(at('overrides', 'greeting.ts'), "export const greeting: string = 'overridden';\n");
      await expectRebuilt();
      expect(bundle()).toContain('"overridden"');
      expect(() => statSync(stampFile())).toThrow();
    },
  );

  it('is what build-app.mjs (package.json\'s build:app) does: quiet when it skips, rebuilding after an edit of the same size and time', () => {
    const buildApp = () => spawnSync(process.execPath, [BUILD_APP, '--outfile=app/app.js'], { cwd: project, encoding: 'utf8' });
    const appStamp = () => statSync(at('app', 'app-bundle.stamp.json')).mtimeMs;
    expect(buildApp()).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const [stampTime, bundleTime] = [appStamp(), statSync(at('app', 'app-bundle.js')).mtimeMs];
    expect(buildApp()).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect([appStamp(), statSync(at('app', 'app-bundle.js')).mtimeMs]).toEqual([stampTime, bundleTime]);
    const { atime, mtime } = statSync(at('greeting.ts'));
    writeFileSync(at('greeting.ts'), "export const greeting: string = 'howdy';\n");
    utimesSync(at('greeting.ts'), atime, mtime);
    expect(buildApp()).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(readFileSync(at('app', 'app-bundle.js'), 'utf8')).toContain('"howdy"');
    expect(readFileSync(at('app', 'app.js'), 'utf8')).toContain('app-bundle.cache');
  });
});
