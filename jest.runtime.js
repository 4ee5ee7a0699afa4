/**
 * Jest's runtime (jest.config.js `runtime`), reading each installed package's file once per worker
 * instead of once per test file. Jest's own runtime keeps the files it read for one test file only: a
 * file that loads the library read ~19 MB of installed JavaScript again (the Kubernetes provider's job
 * structs alone are 4.8 MB) and decoded it into new strings: 2.9 s of the 9.6 s the unit run spent
 * requiring modules (one worker, CPU profile), and garbage to collect. With this runtime the unit run took
 * 47-53 s of CPU instead of 59-61 s, and 65-76 s instead of 86-128 s on a 2-core machine at load 8-13
 * (2026-12-06, three runs each, interleaved).
 *
 * Only files under a node_modules folder, which nothing changes during a run, and only their text:
 * each test file still evaluates every module afresh in its own module registry and context (cdktf's
 * token maps, the providers' classes, nothing is shared between test files but immutable strings). The
 * code wrapped for `vm.Script` is kept with the text, so V8 finds its compiled code by the same string.
 */
const Runtime = require('jest-runtime').default;

const IN_NODE_MODULES = /[\\/]node_modules[\\/]/;
/** Installed files' text, by path, for this worker's test files; and the same texts as a set. */
const sources = new Map();
const sourceTexts = new Set();
/** The text of each of them wrapped as a module, by wrapper start, then by text. */
const wrapped = new Map();

class SharedPackageSourcesRuntime extends Runtime {
  readFile(filename) {
    if (!IN_NODE_MODULES.test(filename)) return super.readFile(filename);
    let source = sources.get(filename);
    if (source === undefined) {
      source = super.readFile(filename);
      sources.set(filename, source);
      sourceTexts.add(source);
    }
    return source;
  }

  wrapCodeInModuleWrapper(content) {
    // Only installed files' text: the library's and the tests' code comes transformed for each test file.
    if (!sourceTexts.has(content)) return super.wrapCodeInModuleWrapper(content);
    const start = this.constructModuleWrapperStart();
    let byText = wrapped.get(start);
    if (byText === undefined) wrapped.set(start, (byText = new Map()));
    let code = byText.get(content);
    if (code === undefined) byText.set(content, (code = super.wrapCodeInModuleWrapper(content)));
    return code;
  }
}

module.exports = SharedPackageSourcesRuntime;
