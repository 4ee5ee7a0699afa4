/** Type-checking happens once in `npm run typecheck`; jest only transpiles. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
  },
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
};
