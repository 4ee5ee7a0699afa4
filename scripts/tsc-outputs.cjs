'use strict';
/**
 * `node scripts/tsc-outputs.cjs <tsbuildinfo>`, run by `npm run build` and `npm run synth` before
 * `tsc -p tsconfig.build.json`: removes the incremental build's info file when an output it lists is
 * missing, so that tsc builds everything again instead of leaving the output missing.
 *
 * tsc's incremental build (and `tsc -b`) decides what to emit from the info file alone: the versions
 * of the sources it records, not the outputs on disk. A deleted `dist/lib/index.js` stays missing
 * until the info file goes (microsoft/TypeScript#30602, open; #35605 and #57709: "intended"). The
 * info file (TypeScript 5.x) lists the program's files (`fileNames`), the roots among them (`root`:
 * 1-based ids, or [first, last] ranges of ids) and the options the outputs are named by (`outDir`,
 * `rootDir`, relative to the info file's folder). Each root source has its outputs under outDir
 * (`x.ts`: `x.js`, and `x.d.ts` with `declaration`; `.map` files with `sourceMap`/`declarationMap`),
 * as has each JSON module of the project (resolveJsonModule writes a copy). An info file this does not
 * understand is removed too: the build then is a full one, never a missing output.
 *
 * Only the outputs' existence is checked (a stat each, a few milliseconds): an output edited by hand is
 * not noticed, as tsc does not notice it.
 */
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

/** Output extensions for a source extension: [code, declaration]. */
const OUTPUTS = {
  '.ts': ['.js', '.d.ts'],
  '.tsx': ['.js', '.d.ts'],
  '.mts': ['.mjs', '.d.mts'],
  '.cts': ['.cjs', '.d.cts'],
};
const DECLARATION = /\.d\.[cm]?ts$|\.d\.[^.]+\.ts$/;
const IN_NODE_MODULES = /(^|[\\/])node_modules([\\/]|$)/;

/** The outputs an incremental build's info file says its build wrote, absolute; throws for an info file it does not understand. */
function expectedOutputs(infoFile) {
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  const { fileNames, root, options } = info;
  if (!Array.isArray(fileNames) || !Array.isArray(root) || !options || typeof options.outDir !== 'string') {
    throw new Error('not an incremental build info file with an outDir');
  }
  if (options.outFile || options.noEmit) throw new Error('outFile and noEmit are not handled');
  const here = dirname(infoFile);
  const outDir = resolve(here, options.outDir);
  const rootDir = resolve(here, typeof options.rootDir === 'string' ? options.rootDir : '.');
  const declarations = options.declaration === true || options.composite === true;
  const code = options.emitDeclarationOnly !== true;
  const file = (id) => {
    const name = fileNames[id - 1];
    if (!Number.isInteger(id) || typeof name !== 'string') throw new Error(`no file of id ${id}`);
    return resolve(here, name);
  };
  const roots = root.flatMap((entry) => {
    if (!Array.isArray(entry)) return [file(entry)];
    const [first, last] = entry;
    return Array.from({ length: last - first + 1 }, (_, index) => file(first + index));
  });
  const outputs = [];
  const under = (source, extension) => {
    const path = relative(rootDir, source);
    if (path.startsWith(`..${sep}`) || path === '..') throw new Error(`${source} is outside rootDir ${rootDir}`);
    const base = extension === null ? path : path.replace(/\.[cm]?tsx?$/, '');
    return join(outDir, extension === null ? base : base + extension);
  };
  for (const source of roots) {
    if (DECLARATION.test(source)) continue;
    const kinds = OUTPUTS[source.slice(source.lastIndexOf('.'))];
    if (!kinds) continue;
    if (code) outputs.push(under(source, kinds[0]));
    if (code && options.sourceMap) outputs.push(under(source, `${kinds[0]}.map`));
    if (declarations) outputs.push(under(source, kinds[1]));
    if (declarations && options.declarationMap) outputs.push(under(source, `${kinds[1]}.map`));
  }
  if (code) {
    for (const name of fileNames) {
      const source = resolve(here, name);
      if (source.endsWith('.json') && !IN_NODE_MODULES.test(name)) outputs.push(under(source, null));
    }
  }
  return outputs;
}

/** Removes `infoFile` when an output it lists is missing (or it cannot be read as one); the reason, or undefined when it is kept. */
function removeUnlessOutputsExist(infoFile) {
  if (!existsSync(infoFile)) return undefined;
  let reason;
  try {
    const missing = expectedOutputs(infoFile).find((output) => !existsSync(output));
    if (missing === undefined) return undefined;
    reason = `${relative(process.cwd(), missing)} is missing`;
  } catch (error) {
    reason = `it could not be read: ${error.message}`;
  }
  rmSync(infoFile, { force: true });
  return reason;
}

module.exports = { expectedOutputs, removeUnlessOutputsExist };

if (require.main === module) {
  const infoFile = process.argv[2];
  if (!infoFile) {
    process.stderr.write('usage: node scripts/tsc-outputs.cjs <tsbuildinfo>\n');
    process.exit(2);
  }
  const reason = removeUnlessOutputsExist(infoFile);
  if (reason) process.stdout.write(`${infoFile} removed (${reason}): tsc builds everything again\n`);
}
