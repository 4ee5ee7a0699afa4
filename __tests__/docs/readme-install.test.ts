/**
 * The new project of docs/installing-from-your-registry.md against the package it installs: its
 * `npm install` commands name every peer dependency and the tools at the versions this repository
 * tests with (its devDependencies), and cdktf.json's `app` runs only programs those installs provide
 * (no `npx ts-node` in a project that never installed it). `scripts/consumer-test.sh` builds the
 * project from the same section and runs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PAGE_PATH = 'docs/installing-from-your-registry.md';
const INSTALL_PAGE = readFileSync(join(ROOT, PAGE_PATH), 'utf8');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TITLE = '# Installing from your registry';
/** What the new project needs beside the peer dependencies: the compiler, Node's types, the cdktf CLI. */
const TOOLS = ['typescript', '@types/node', 'cdktf-cli'];

/** The install page, which is the install section (its title first). */
function sectionOf(page: string): string {
  if (!page.startsWith(`${TITLE}\n`)) throw new Error(`${PAGE_PATH} does not start with "${TITLE}"`);
  return page;
}

/** The fenced blocks (language, text) of the install page. */
function sectionBlocks(readme: string): { language: string; text: string }[] {
  return [...sectionOf(readme).matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm)].map(([, language, text]) => ({ language, text }));
}

/** What the section's `npm install` commands install: package name to its spec ('' when none), and which with -D. */
function installed(readme: string): { specs: Map<string, string>; dev: Set<string> } {
  const specs = new Map<string, string>();
  const dev = new Set<string>();
  const commands = sectionBlocks(readme)
    .filter((block) => block.language === 'bash')
    .flatMap((block) => block.text.replace(/\\\n/g, ' ').split(/\n|&&/))
    .map((command) => command.trim().split(/\s+/))
    .filter((words) => words[0] === 'npm' && words[1] === 'install');
  for (const words of commands) {
    const isDev = words.includes('-D') || words.includes('--save-dev');
    for (const word of words.slice(2).filter((argument) => !argument.startsWith('-'))) {
      const at = word.indexOf('@', 1);
      const name = at < 0 ? word : word.slice(0, at);
      specs.set(name, at < 0 ? '' : word.slice(at + 1));
      if (isDev) dev.add(name);
    }
  }
  return { specs, dev };
}

/** Install specs that are not the versions this repository tests with, or packages not installed. */
function installProblems(readme: string): string[] {
  const { specs, dev } = installed(readme);
  const problems: string[] = [];
  if (!specs.has(MANIFEST.name)) problems.push(`${MANIFEST.name} is not installed`);
  for (const name of [...Object.keys(MANIFEST.peerDependencies), ...TOOLS]) {
    const tested = MANIFEST.devDependencies[name];
    if (!specs.has(name)) problems.push(`${name} is not installed (tested: ${tested})`);
    else if (specs.get(name) !== tested) problems.push(`${name}@${specs.get(name)}, tested: ${tested}`);
  }
  for (const tool of TOOLS) if (specs.has(tool) && !dev.has(tool)) problems.push(`${tool} is not a dev dependency`);
  return problems;
}

/** The programs cdktf.json's `app` runs through npx that no installed package provides. */
function missingPrograms(readme: string): string[] {
  const configs = sectionBlocks(readme).filter((block) => block.language === 'json' && /^\s*"app"\s*:/m.test(block.text));
  if (configs.length !== 1) return [`${configs.length} cdktf.json blocks (\`\`\`json with "app"), expected one`];
  const app: string = JSON.parse(configs[0].text).app;
  const programs = new Set(
    [...installed(readme).specs.keys()]
      .filter((name) => name !== MANIFEST.name)
      .flatMap((name) => {
        const { bin } = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
        return typeof bin === 'string' ? [name.split('/').pop()!] : Object.keys(bin ?? {});
      }),
  );
  return [...app.matchAll(/\bnpx\s+(?:-\S+\s+)*([^\s&|;]+)/g)].map((match) => match[1]).filter((program) => !programs.has(program));
}

/**
 * Problems of the section's registry token for `npm publish`: a bash line appending
 * `//<registry>/:_authToken=${VARIABLE}` to `.npmrc` in single quotes (npm, not the shell, replaces the
 * variable: the token never lands in the file), and no token written out anywhere in the section.
 */
function publishTokenProblems(readme: string): string[] {
  const lines = sectionBlocks(readme)
    .filter((block) => block.language === 'bash')
    .flatMap((block) => block.text.split('\n'));
  const problems: string[] = [];
  if (!lines.some((line) => /^echo '\/\/\S+\/:_authToken=\$\{[A-Z_]+\}' >> \.npmrc$/.test(line.trim()))) {
    problems.push("no echo '//<registry>/:_authToken=${VARIABLE}' >> .npmrc");
  }
  if (!lines.some((line) => /^npm publish\b/.test(line.trim()))) problems.push('no npm publish');
  const written = [...sectionOf(readme).matchAll(/_authToken=(?!\$\{[A-Z_]+\})[^\s'"`]*/g)].map((match) => match[0]);
  if (written.length > 0) problems.push(`a token written out: ${written.join(', ')}`);
  return problems;
}

describe("docs/installing-from-your-registry.md's new project", () => {
  test('installs the package, its peer dependencies and the tools at the versions this repository tests with', () => {
    expect(installProblems(INSTALL_PAGE)).toEqual([]);
  });

  test('a peer at another version, or a tool left out, is seen', () => {
    const drifted = INSTALL_PAGE.replace('@cdktf/provider-time@11.0.1', '@cdktf/provider-time@11.0.0').replace(' @types/node@^20.19.0', '');
    expect(installProblems(drifted)).toEqual(['@cdktf/provider-time@11.0.0, tested: 11.0.1', '@types/node is not installed (tested: ^20.19.0)']);
  });

  test("has a cdktf.json whose app runs only what the installs provide", () => {
    expect(missingPrograms(INSTALL_PAGE)).toEqual([]);
  });

  test("shows npm publish's registry token as a variable in .npmrc, never the token", () => {
    expect(publishTokenProblems(INSTALL_PAGE)).toEqual([]);
  });

  test('a token line the shell would fill in, or a token written out, is seen', () => {
    const line = "echo '//<your-registry>/:_authToken=${NPM_TOKEN}' >> .npmrc";
    expect(INSTALL_PAGE).toContain(line);
    expect(publishTokenProblems(INSTALL_PAGE.replace(line, 'echo "//<your-registry>/:_authToken=${NPM_TOKEN}" >> .npmrc'))).toEqual([
      "no echo '//<registry>/:_authToken=${VARIABLE}' >> .npmrc",
    ]);
    expect(publishTokenProblems(INSTALL_PAGE.replace(line, "echo '//<your-registry>/:_authToken=npm_abc123' >> .npmrc"))).toEqual([
      "no echo '//<registry>/:_authToken=${VARIABLE}' >> .npmrc",
      'a token written out: _authToken=npm_abc123',
    ]);
  });

  test("an app that runs ts-node, which nothing installs, or no cdktf.json at all, is seen", () => {
    expect(missingPrograms(INSTALL_PAGE.replace('"app": "npx tsc && node main.js"', '"app": "npx ts-node main.ts"'))).toEqual(['ts-node']);
    expect(missingPrograms(INSTALL_PAGE.replace('"app": "npx tsc', '"run": "npx tsc'))).toEqual(['0 cdktf.json blocks (```json with "app"), expected one']);
  });
});
