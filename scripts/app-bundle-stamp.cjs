'use strict';
/**
 * Whether the app bundle scripts/build-app.mjs wrote last is still what esbuild would write, so that
 * `npm run build` and `npm run synth` skip the bundle's build (~0.8 s over ~19 MB of provider code) when
 * nothing it is built from changed. A build records, in `app-bundle.stamp.json` beside the bundle:
 *
 * - the build's settings (esbuild's version, its options, the bytes of build-app.mjs and of this file);
 * - the SHA-1 of every file esbuild read (its metafile's inputs), hashed as esbuild comes to load it (an
 *   onLoad hook that reads the file first: an edit made while esbuild runs leaves a stamp that no longer
 *   matches);
 * - the SHA-1 of each file an input's `sourceMappingURL` comment names (esbuild reads it into the bundle's map);
 * - what steers module resolution, recorded as esbuild comes to load the first file of each folder: the
 *   names (and link targets) in every folder an input is in (a new `x.tsx` beside `x.ts`) and in the folders above it
 *   up to the build's folder (`lib/util.ts` beside `lib/util/` of an input lib/util/index.ts), and in the folder a
 *   relative import is looked up in, as esbuild resolves it (a link there to a file elsewhere); for a bare import, as
 *   esbuild resolves it, the node_modules listing and package's package.json in each folder above up to the one that
 *   has it; and in
 *   every folder above one its package.json, the names in its node_modules and, outside node_modules,
 *   its tsconfig.json and jsconfig.json; and, before esbuild starts, package-lock.json and npm's
 *   node_modules/.package-lock.json;
 * - the SHA-1 of every file the build wrote (the bundle and its source map).
 *
 * The next build is skipped only when all of it is byte for byte as recorded: contents, not times, so
 * an edit that keeps a file's size and time (`touch -r`, `cp -p`, an archive) rebuilds. A build removes
 * the stamp before it writes anything, and writes one only when every input esbuild read was recorded;
 * a tsconfig.json or jsconfig.json that extends another file, or has `paths` or `baseUrl`, is not followed, so its
 * folder's builds are never skipped.
 */
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { dirname, isAbsolute, join, relative, resolve, sep } = require('node:path');
const { fileURLToPath, pathToFileURL } = require('node:url');

/** The stamp's own format; a stamp of another format is not read. */
const FORMAT = 1;
/**
 * Files in each folder above an input that change how esbuild resolves or compiles what is under it;
 * esbuild ignores the TypeScript configs of folders inside node_modules (internal/resolver/resolver.go).
 */
const PACKAGE_CONFIG = 'package.json';
const TYPESCRIPT_CONFIGS = ['tsconfig.json', 'jsconfig.json'];
/**
 * What a tsconfig.json or jsconfig.json may hold that the stamp does not follow: `extends` (another file), `paths` and
 * `baseUrl` (folders a bare import is looked up in first, which may hold no input: a new file there would win).
 */
const UNFOLLOWED_CONFIG = /"(extends|paths|baseUrl)"/;
const IN_NODE_MODULES = /(^|[\\/])node_modules([\\/]|$)/;
const MISSING = 'missing';
/** npm's lock files, which change with every install (package-lock.json, and node_modules/.package-lock.json for what is installed). */
const LOCK_FILES = ['package-lock.json', join('node_modules', '.package-lock.json')];

/** A file's SHA-1, or "missing" where there is none; other errors (a folder, no permission) throw. */
function fileDigest(path) {
  try {
    return createHash('sha1').update(readFileSync(path)).digest('hex');
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return MISSING;
    throw error;
  }
}

/** The SHA-1 of a folder's sorted entry names, each symbolic link's with its target (`npm link`), or "missing" where there is no folder. */
function folderDigest(path) {
  try {
    const entries = readdirSync(path, { withFileTypes: true }).map((entry) =>
      entry.isSymbolicLink() ? `${entry.name} -> ${readlinkSync(join(path, entry.name))}` : entry.name,
    );
    return createHash('sha1').update(entries.sort().join('\n')).digest('hex');
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return MISSING;
    throw error;
  }
}

/** Whether `path` is `folder` or in it. */
function isInside(folder, path) {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/**
 * The files the `sourceMappingURL` comments in an input name (not data: URLs): esbuild reads the last one's, relative to
 * the input's folder or as a file: URL, into the bundle's source map (internal/bundler/bundler.go,
 * extractSourceMapFromComment). Each comment's, so a text in a string literal after it only adds one.
 */
function sourceMapFiles(path, contents) {
  const files = [];
  const marker = Buffer.from('sourceMappingURL=');
  for (let at = contents.indexOf(marker); at !== -1; at = contents.indexOf(marker, at + marker.length)) {
    const text = /^[^\s'"`*]*/.exec(contents.toString('utf8', at + marker.length, at + marker.length + 4096))[0];
    if (text === '' || text.startsWith('data:')) continue;
    try {
      const url = new URL(text, pathToFileURL(join(dirname(path), sep)));
      if (url.protocol === 'file:') files.push(fileURLToPath(url));
    } catch {
      // Not a URL esbuild reads either (it warns, and a build that warned is not stamped).
    }
  }
  return files;
}

/** `path` and every folder above it, up to the file system's root. */
function selfAndAncestors(path) {
  const folders = [];
  for (let folder = path; ; folder = dirname(folder)) {
    folders.push(folder);
    if (dirname(folder) === folder) return folders;
  }
}

/**
 * What a build read, as it read it: `inputs`, the SHA-1 of each file by absolute path; `files` and
 * `folders`, those of the files and folder listings that steer module resolution. The lock files are
 * hashed here, before esbuild starts, and so are the package.json and TypeScript configs of the build's folder and those above.
 */
function newRecording(cwd) {
  const recording = { cwd, inputs: new Map(), files: new Map(), folders: new Map(), inputFolders: new Set(), above: new Set(), configured: new Set(), unreadable: undefined };
  recordSafely(recording, () => {
    for (const name of LOCK_FILES) recordFile(recording, join(cwd, name));
    recordConfigs(recording, cwd);
  });
  return recording;
}

/** Runs `record`; a file or folder it cannot read (no permission) leaves the build unstamped instead of failing it. */
function recordSafely(recording, record) {
  try {
    record();
  } catch (error) {
    recording.unreadable ??= error;
  }
}

/** Records a file's SHA-1 as it is now, once: the first look, made before esbuild's or at it, is the one kept. */
function recordFile(recording, path) {
  if (!recording.files.has(path)) recording.files.set(path, fileDigest(path));
}

/** Records the names (and link targets) in `folder` as they are now, once. */
function recordListing(recording, folder) {
  if (!recording.folders.has(folder)) recording.folders.set(folder, folderDigest(folder));
}

/**
 * Records the listing of `folder` (an input's) and of the folders above it up to the build's folder (one outside it: up
 * to its package's, the first with a package.json): a folder import (`./lib/util` of lib/util/index.ts, a package.json's
 * `main` further in) goes to a file of that name beside the folder once there is one (lib/util.ts), in a folder that
 * may hold no input. And, in it and every folder above it, the files and node_modules listing that steer resolution.
 */
function recordFolder(recording, folder) {
  if (recording.inputFolders.has(folder)) return;
  recording.inputFolders.add(folder);
  recordListing(recording, folder);
  for (let above = folder; above !== recording.cwd && dirname(above) !== above; ) {
    if (!isInside(recording.cwd, above) && fileDigest(join(above, PACKAGE_CONFIG)) !== MISSING) break;
    above = dirname(above);
    recordListing(recording, above);
  }
  for (const ancestor of selfAndAncestors(folder)) {
    if (recording.above.has(ancestor)) break; // and so every folder above it
    recording.above.add(ancestor);
    recordConfigs(recording, ancestor);
    recordListing(recording, join(ancestor, 'node_modules'));
  }
}

/**
 * Records the package.json (and, outside node_modules, tsconfig.json and jsconfig.json) of `folder` and of every
 * folder above it, once: esbuild reads them as it resolves in a folder, before it loads a file there, so they are
 * recorded before esbuild starts (the build's folder) or as it comes to resolve there (a relative import's folder).
 */
function recordConfigs(recording, folder) {
  for (const ancestor of selfAndAncestors(folder)) {
    if (recording.configured.has(ancestor)) return; // and so every folder above it
    recording.configured.add(ancestor);
    const names = IN_NODE_MODULES.test(ancestor) ? [PACKAGE_CONFIG] : [PACKAGE_CONFIG, ...TYPESCRIPT_CONFIGS];
    for (const name of names) recordFile(recording, join(ancestor, name));
  }
}

/**
 * An esbuild plugin that hashes each file, and records its folder, as esbuild comes to load it (it
 * returns nothing, so esbuild, or the next plugin, loads the file as it would have): a change made
 * later in the build leaves a stamp that no longer matches. Put it first.
 */
function inputRecorder(recording) {
  return {
    name: 'app-bundle-stamp',
    setup(builder) {
      // A relative import is looked up in its target's folder (and as a folder itself), which may hold no input: a
      // link there (lib/greeting.ts to shared/a.ts, whose real path is the input) or a new file would change what it finds.
      builder.onResolve({ filter: /^\.\.?([\\/]|$)/ }, ({ path, resolveDir, namespace }) => {
        if (namespace !== 'file' || !resolveDir) return undefined;
        recordSafely(recording, () => {
          const target = resolve(resolveDir, path);
          recordConfigs(recording, dirname(target));
          recordListing(recording, dirname(target));
          recordListing(recording, target);
        });
        return undefined;
      });
      // A bare import is looked up in the node_modules of each folder above: its package.json (the entry point,
      // exports) and the listing are hashed before esbuild reads them, not when it comes to load the package's first
      // file, which an edit in between would leave recorded as the bundle never saw it.
      builder.onResolve({ filter: /^[^./]/ }, ({ path, resolveDir, namespace }) => {
        if (namespace !== 'file' || !resolveDir || path.startsWith('node:')) return undefined;
        const name = path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/');
        recordSafely(recording, () => {
          for (const ancestor of selfAndAncestors(resolveDir)) {
            const modules = join(ancestor, 'node_modules');
            recordListing(recording, modules);
            const config = join(modules, name, PACKAGE_CONFIG);
            recordFile(recording, config);
            if (recording.files.get(config) !== MISSING) break;
          }
        });
        return undefined;
      });
      builder.onLoad({ filter: /.*/ }, ({ path, namespace }) => {
        if (namespace !== 'file') return undefined;
        recordSafely(recording, () => {
          const contents = readFileSync(path);
          recording.inputs.set(path, createHash('sha1').update(contents).digest('hex'));
          for (const map of sourceMapFiles(path, contents)) recordFile(recording, map);
          recordFolder(recording, dirname(path));
        });
        return undefined;
      });
    },
  };
}

/**
 * The stamp of a build, or undefined where it cannot vouch for the build (an input esbuild read that
 * the recording lacks, a file of another namespace, a file or folder it could not read, a config that
 * extends another or has `paths` or `baseUrl`).
 * @param {object} build
 * @param {object} build.settings what else the output depends on (esbuild's version and options, the scripts' digests, the folder)
 * @param {string} build.cwd the folder esbuild ran in (its metafile's paths are relative to it)
 * @param {Record<string, unknown>} build.metafileInputs esbuild's `metafile.inputs`
 * @param {ReturnType<typeof newRecording>} build.recording what `inputRecorder` recorded
 * @param {{ path: string, contents: Uint8Array }[]} build.outputs the files the build wrote (esbuild's outputFiles): hashed
 *   as written, not read back, so a bundle another build wrote over them since is not taken for this build's
 */
function stampOf({ settings, cwd, metafileInputs, recording, outputs }) {
  if (recording.unreadable !== undefined) return undefined;
  const inputs = {};
  for (const key of Object.keys(metafileInputs)) {
    const path = resolve(cwd, key.split('/').join(sep));
    const digest = recording.inputs.get(path);
    if (digest === undefined || digest === MISSING) return undefined;
    inputs[path] = digest;
  }
  for (const [path, digest] of recording.files) {
    if (digest !== MISSING && /(^|[\\/])[tj]sconfig\.json$/.test(path) && UNFOLLOWED_CONFIG.test(readFileSync(path, 'utf8'))) return undefined;
  }
  const outputDigests = Object.fromEntries(outputs.map(({ path, contents }) => [path, createHash('sha1').update(contents).digest('hex')]));
  return { format: FORMAT, settings, inputs, resolution: Object.fromEntries(recording.files), folders: Object.fromEntries(recording.folders), outputs: outputDigests };
}

/**
 * Why the build recorded in `stampFile` is not current for `settings` (a sentence), or undefined
 * where everything it recorded is as it was: the build can be skipped.
 */
function staleness(stampFile, settings) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return `no stamp (${stampFile})`;
  }
  if (stamp === null || typeof stamp !== 'object' || stamp.format !== FORMAT) return 'a stamp of another format';
  if (JSON.stringify(stamp.settings) !== JSON.stringify(settings)) return 'the build settings changed';
  const groups = [
    ['input', stamp.inputs, fileDigest],
    ['output', stamp.outputs, fileDigest],
    ['resolution file', stamp.resolution, fileDigest],
    ['folder', stamp.folders, folderDigest],
  ];
  for (const [kind, recorded, digest] of groups) {
    if (recorded === null || typeof recorded !== 'object' || Object.keys(recorded).length === 0 && kind !== 'folder') return `the stamp lists no ${kind}s`;
    for (const [path, expected] of Object.entries(recorded)) {
      if (!isAbsolute(path)) return `the stamp's ${kind} ${path} is not an absolute path`;
      let actual;
      try {
        actual = digest(path);
      } catch (error) {
        return `${kind} ${path} cannot be read (${error.code ?? error.message})`;
      }
      if (actual !== expected) return `${kind} ${relative(settings.cwd ?? '', path) || path} changed`;
    }
  }
  return undefined;
}

/** Writes `stamp` to `stampFile` whole or not at all. */
function writeStamp(stampFile, stamp) {
  const partial = `${stampFile}.${process.pid}`;
  writeFileSync(partial, `${JSON.stringify(stamp)}\n`);
  renameSync(partial, stampFile);
}

/** Removes the stamp (before a build writes anything: a build that stops part way leaves none). */
function removeStamp(stampFile) {
  rmSync(stampFile, { force: true });
}

/**
 * Runs `build` unless the stamp in `stampFile` shows its output current for `settings`; whether it ran.
 * @param {object} job
 * @param {string} job.stampFile where the stamp is kept (beside the bundle)
 * @param {{ cwd: string }} job.settings what else the output depends on: compared as JSON
 * @param {(recorder: object) => Promise<{ metafile: { inputs: Record<string, unknown> }, warnings: unknown[], outputs: { path: string, contents: Uint8Array }[] }>} job.build
 *   runs esbuild with `recorder` as its first plugin, `metafile: true` and `absWorkingDir` (or the
 *   process's folder) `settings.cwd`, writes the output files and returns them (esbuild's outputFiles)
 */
async function buildUnlessCurrent({ stampFile, settings, build }) {
  if (staleness(stampFile, settings) === undefined) return false;
  removeStamp(stampFile);
  const recording = newRecording(settings.cwd);
  const { metafile, warnings, outputs } = await build(inputRecorder(recording));
  const stamp = stampOf({ settings, cwd: settings.cwd, metafileInputs: metafile.inputs, recording, outputs });
  // A build that warned is not skipped: each build prints its warnings again.
  if (stamp !== undefined && warnings.length === 0) writeStamp(stampFile, stamp);
  return true;
}

module.exports = { FORMAT, fileDigest, newRecording, inputRecorder, stampOf, staleness, buildUnlessCurrent };
