'use strict';
/**
 * dist/app.js (copied there by scripts/build-app.mjs): runs the app's bundle, app-bundle.js beside
 * this file, as Node runs a CommonJS module, but through V8's code cache. Compiling the 3.7 MB
 * bundle and then the functions a synth calls is about a quarter of the app's time; the first run
 * after a build that changed the bundle compiles as Node would and keeps V8's code at exit in
 * app-bundle.cache, and the next runs start from it (a build of the same bundle leaves the file,
 * and so its time, as it was). A cache is used only for the same bundle file (size and modification
 * time) and Node version; V8 checks its own version and flags again and, refusing a cache,
 * compiles the source (and the run writes the cache again). Where the folder cannot be written,
 * every run compiles.
 */
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, 'app-bundle.js');
const cacheFile = join(__dirname, 'app-bundle.cache');
const { size, mtimeMs } = statSync(bundle);
/** The cache file's first line: what the cached code was compiled from and with. */
const key = Buffer.from(`${JSON.stringify([process.version, process.arch, size, mtimeMs])}\n`);

function readCache() {
  try {
    const data = readFileSync(cacheFile);
    return data.subarray(0, key.length).equals(key) ? data.subarray(key.length) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(script) {
  const partial = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(partial, Buffer.concat([key, script.createCachedData()]));
    renameSync(partial, cacheFile); // whole or not at all, even with runs side by side
  } catch {
    // A read-only folder: the next run compiles again.
  }
}

function runCached() {
  const cachedData = readCache();
  // Node's own CommonJS wrapper, so the bundle sees exactly what `node app-bundle.js` would give it.
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(bundle, 'utf8')}\n});`;
  const script = new Script(source, { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) process.on('exit', () => writeCache(script));
  const bundleModule = { exports: {} };
  script.runInThisContext().call(bundleModule.exports, bundleModule.exports, createRequire(bundle), bundleModule, bundle, __dirname);
}

// Node maps stack traces through app-bundle.js.map only for a module it loads itself.
if (process.sourceMapsEnabled) require(bundle);
else runCached();
