/**
 * The app has one command line: cdktf.json's `app` (what `cdktf synth`/`deploy` run). `npm run synth`
 * runs the same line after the build's commands (run directly: a nested `npm run build` costs ~0.12 s), so the flags that keep the app's memory down (node's
 * --max-semi-space-size: a short batch process needs no 16 MB young generation) cannot drift apart,
 * and both run the bundle (dist/app.js, one file instead of ~680 modules to resolve and compile).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));
const BUILD: string = readJson('package.json').scripts.build;

/** Problems of an app command and of the synth script that should run it. */
export function appCommandProblems(app: string, synthScript: string, build = BUILD): string[] {
  const problems: string[] = [];
  if (!/^node( --[a-z-]+(=\S+)?)* dist\/app\.js$/.test(app)) problems.push(`cdktf.json app "${app}" is not "node [flags] dist/app.js" (the bundled app)`);
  if (!/--max-semi-space-size=\d+/.test(app)) problems.push(`cdktf.json app "${app}" lost --max-semi-space-size (about 30 MB more peak memory)`);
  if (synthScript !== `${build} && ${app}`) problems.push(`npm run synth "${synthScript}" does not run cdktf.json's app "${app}" after the build's commands`);
  return problems;
}

describe('the app command', () => {
  it("npm run synth runs cdktf.json's app, with the memory flag", () => {
    expect(appCommandProblems(readJson('cdktf.json').app, readJson('package.json').scripts.synth)).toEqual([]);
  });

  it('fails on a synth script that runs the app without the flags (planted)', () => {
    const app = 'node --max-semi-space-size=2 dist/app.js';
    expect(appCommandProblems(app, `${BUILD} && node dist/app.js`)).toEqual([
      `npm run synth "${BUILD} && node dist/app.js" does not run cdktf.json's app "${app}" after the build's commands`,
    ]);
  });

  it('fails on a synth script that builds through a nested npm run build (planted)', () => {
    const app = 'node --max-semi-space-size=2 dist/app.js';
    expect(appCommandProblems(app, `npm run build && ${app}`)).toEqual([
      `npm run synth "npm run build && ${app}" does not run cdktf.json's app "${app}" after the build's commands`,
    ]);
  });

  it('fails on an app without the memory flag (planted)', () => {
    expect(appCommandProblems('node dist/app.js', `${BUILD} && node dist/app.js`)).toEqual([
      'cdktf.json app "node dist/app.js" lost --max-semi-space-size (about 30 MB more peak memory)',
    ]);
  });

  it('fails on an app that runs tsc\'s output module by module instead of the bundle (planted)', () => {
    const app = 'node --max-semi-space-size=2 dist/main.js';
    expect(appCommandProblems(app, `${BUILD} && ${app}`)).toEqual([
      `cdktf.json app "${app}" is not "node [flags] dist/app.js" (the bundled app)`,
    ]);
  });

  it('builds the bundle in npm run build, with the command of npm run build:app (run directly: a nested npm costs a synth ~0.15 s)', () => {
    const { build, 'build:app': buildApp } = readJson('package.json').scripts;
    expect(buildApp).toBe('node scripts/build-app.mjs');
    // The outputs' check first (scripts/tsc-outputs.cjs: tsc does not rebuild a deleted output), then tsc.
    expect(build).toMatch(/^node scripts\/tsc-outputs\.cjs dist\/\.tsbuildinfo && tsc -p tsconfig\.build\.json && /);
    expect(build.endsWith(` && ${buildApp}`)).toBe(true);
  });
});
