/**
 * The unit suite (`npx jest`). Type-checking happens once in `npm run typecheck`; jest only
 * transpiles. The slow suites (thousands of generated plans, the KQL analysis, packing the npm package,
 * type-checking the README's TypeScript blocks) have their own config, `jest.slow.config.js`, and run as
 * their own step of `npm test`.
 */
const { SLOW_SUITES } = require('./jest.suites');

module.exports = {
  testEnvironment: 'node',
  // Both cores: jest's default (cores - 1) leaves one of the two idle.
  maxWorkers: '100%',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...SLOW_SUITES],
  transform: {
    '^.+\\.ts$': '<rootDir>/jest.transform.js',
  },
  setupFiles: ['<rootDir>/__tests__/skip-token-creation-stacks.ts'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
};
