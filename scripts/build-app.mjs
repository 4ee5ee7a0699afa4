/**
 * `npm run build:app`: bundles main.ts and what it uses into dist/app.js (esbuild, one file), the
 * app cdktf.json runs. `--outfile=<path>` writes the bundle elsewhere (the bundle test does).
 *
 * One change to what the bundle runs: cdktf's lib/private/fs.js requires `archiver` (and with it
 * glob, readable-stream, graceful-fs and lodash: ~20 ms of every synth) at load, but calls it only
 * to zip an asset of type ARCHIVE, which this app never makes. The bundle loads it on that call.
 */
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const CDKTF_FS = /[\\/]node_modules[\\/]cdktf[\\/]lib[\\/]private[\\/]fs\.js$/;
const EAGER_ARCHIVER = 'const archiver = require("archiver");';
const LAZY_ARCHIVER = 'const archiver = (...args) => require("archiver")(...args);';

/** Rewrites cdktf's eager `require("archiver")`; fails the build where a cdktf version no longer has it. */
const lazyArchiver = {
  name: 'lazy-archiver',
  setup(builder) {
    builder.onLoad({ filter: CDKTF_FS }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      if (source.split(EAGER_ARCHIVER).length !== 2) {
        return { errors: [{ text: `${path} no longer has \`${EAGER_ARCHIVER}\` once: update scripts/build-app.mjs` }] };
      }
      return { contents: source.replace(EAGER_ARCHIVER, LAZY_ARCHIVER), loader: 'js' };
    });
  },
};

const outfile = process.argv.find((arg) => arg.startsWith('--outfile='))?.slice('--outfile='.length) ?? 'dist/app.js';

await build({
  entryPoints: ['main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  sourcemap: true,
  logLevel: 'warning',
  outfile,
  plugins: [lazyArchiver],
});
