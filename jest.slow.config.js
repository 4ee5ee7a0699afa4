/** Property-based plan tests, the package-contents test, the KQL analysis, the README's TypeScript blocks, the Fabric uploader's processes and the tags of every validated stack: `npm run test:slow`. */
const base = require('./jest.config');
const { SLOW_SUITES } = require('./jest.suites');

module.exports = { ...base, roots: SLOW_SUITES, testPathIgnorePatterns: ['/node_modules/'] };
