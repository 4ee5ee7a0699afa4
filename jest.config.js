/**
 * The unit suite (`npx jest`). Type-checking happens once in `npm run typecheck`; jest only
 * transpiles. The slow suites (thousands of generated plans, the KQL analysis, packing the npm package,
 * type-checking the README's TypeScript blocks) have their own config, `jest.slow.config.js`, and run as
 * their own step of `npm test`.
 */
const { SLOW_SUITES } = require('./jest.suites');

// jest's workers fork after the config loads and inherit this environment. Synthesizing stacks
// allocates heavily: a 64 MB young generation (V8's default here is 16 MB) took the unit run from
// 29.1-30.7 s to 28.4-28.5 s in three runs each on the 2-core machine. A flag the user set wins.
if (!/--max-semi-space-size/.test(process.env.NODE_OPTIONS ?? '')) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=64`.trim();
}

module.exports = {
  testEnvironment: 'node',
  // Installed packages' files read once per worker, not once per test file (jest.runtime.js).
  runtime: '<rootDir>/jest.runtime.js',
  // Both cores: jest's default (cores - 1) leaves one of the two idle.
  maxWorkers: '100%',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...SLOW_SUITES],
  transform: {
    '^.+\\.ts$': '<rootDir>/jest.transform.js',
  },
  // The run's temporary files (cdktf's test output folders among them) in one folder, removed when it ends.
  globalSetup: '<rootDir>/jest.tmpdir.js',
  globalTeardown: '<rootDir>/jest.tmpdir.js',
  // npm test (scripts/test-all.sh) gives each step its own TMPDIR, where jest would make its cache anew each run: it
  // names the folder jest uses when run alone.
  ...(process.env.JEST_CACHE_DIRECTORY ? { cacheDirectory: process.env.JEST_CACHE_DIRECTORY } : {}),
  setupFiles: ['<rootDir>/__tests__/skip-token-creation-stacks.ts'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
};
