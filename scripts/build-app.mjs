/**
 * `npm run build:app`: bundles main.ts and what it uses into dist/app-bundle.js (esbuild, one file)
 * and writes beside it dist/app.js, the app cdktf.json runs, which runs the bundle through V8's code
 * cache (scripts/app-loader.cjs). `--outfile=<folder>/app.js` builds into another folder (the bundle
 * test does). A file whose bytes are unchanged is not written again: the loader keeps its code cache
 * for the bundle's size and modification time, and `npm run synth`, which builds first, would
 * otherwise always start without one. When nothing the bundle is built from changed (its stamp,
 * app-bundle.stamp.json beside it: scripts/app-bundle-stamp.cjs), esbuild does not run at all.
 *
 * One change to what the bundle runs: cdktf's lib/private/fs.js requires `archiver` (and with it
 * glob, readable-stream, graceful-fs and lodash: ~20 ms of every synth) at load, but calls it only
 * to zip an asset of type ARCHIVE, which this app never makes. The bundle loads it on that call.
 * CDK Terrain's (0.24, installed as `cdktf` through an npm alias: docs/cdk-terrain.md) zips with
 * fflate and requires no archiver: nothing to defer there.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild, version } from 'esbuild';

const stamps = createRequire(import.meta.url)('./app-bundle-stamp.cjs');

const CDKTF_FS = /[\\/]node_modules[\\/]cdktf[\\/]lib[\\/]private[\\/]fs\.js$/;
const EAGER_ARCHIVER = 'const archiver = require("archiver");';
const LAZY_ARCHIVER = 'const archiver = (...args) => require("archiver")(...args);';

/**
 * Rewrites cdktf's eager `require("archiver")`; fails the build where a cdktf version requires it
 * another way (the rewrite would silently stop applying).
 */
const lazyArchiver = {
  name: 'lazy-archiver',
  setup(builder) {
    builder.onLoad({ filter: CDKTF_FS }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      if (!source.includes('"archiver"')) return undefined;
      if (source.split(EAGER_ARCHIVER).length !== 2) {
        return { errors: [{ text: `${path} no longer has \`${EAGER_ARCHIVER}\` once: update scripts/build-app.mjs` }] };
      }
      return { contents: source.replace(EAGER_ARCHIVER, LAZY_ARCHIVER), loader: 'js' };
    });
  },
};

const outfile = process.argv.find((arg) => arg.startsWith('--outfile='))?.slice('--outfile='.length) ?? 'dist/app.js';
const folder = dirname(outfile);

/** Writes `contents` to `path` unless the file holds exactly those bytes (its time kept); whether it wrote. */
function writeIfChanged(path, contents) {
  try {
    if (readFileSync(path).equals(contents)) return false;
  } catch {
    // No such file yet.
  }
  writeFileSync(path, contents);
  return true;
}

const bundle = join(folder, 'app-bundle.js');
const options = {
  entryPoints: ['main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  sourcemap: true,
  logLevel: 'warning',
  outfile: bundle,
  write: false,
};
const plugins = [lazyArchiver];
// Everything but the files the bundle reads: the plugins' code is in the scripts hashed here.
const settings = {
  esbuild: version,
  cwd: process.cwd(),
  options,
  plugins: plugins.map(({ name }) => name),
  scripts: [fileURLToPath(import.meta.url), fileURLToPath(new URL('app-bundle-stamp.cjs', import.meta.url))].map(stamps.fileDigest),
};
// Made first: a folder that appears beside main.ts during the build would change a folder the stamp lists.
mkdirSync(folder, { recursive: true });
await stamps.buildUnlessCurrent({
  stampFile: join(folder, 'app-bundle.stamp.json'),
  settings,
  async build(recorder) {
    const { outputFiles, metafile, warnings } = await esbuild({ ...options, metafile: true, plugins: [recorder, ...plugins] });
    for (const { path, contents } of outputFiles) {
      // The loader keys its cache by the bundle's size and time; a changed bundle starts without one anyway.
      if (writeIfChanged(path, contents) && path === resolve(bundle)) rmSync(join(folder, 'app-bundle.cache'), { force: true });
    }
    return { metafile, warnings, outputs: outputFiles };
  },
});
writeIfChanged(outfile, readFileSync(new URL('app-loader.cjs', import.meta.url)));
