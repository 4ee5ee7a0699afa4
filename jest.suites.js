/**
 * Suites too slow for the unit run: property-based plan tests, the package-contents test, the
 * KQL analysis of the deployed queries (loading Microsoft's Kusto analyzer takes seconds), the
 * README's TypeScript blocks (one TypeScript program over the library, cdktf, the providers and
 * @types/node: about 7 s), and the Fabric uploader run as the deployment step runs it (about 30
 * node processes: 6 s of the unit run's 61 s of worker time), and the plan's tags on every resource
 * of every validated stack (25 variants synthesized: about 9 s), and the build's TypeScript step run on
 * a small project (tsc about ten times: 5-12 s).
 */
exports.SLOW_SUITES = [
  '<rootDir>/__tests__/properties/',
  '<rootDir>/__tests__/package/',
  '<rootDir>/__tests__/kql/',
  '<rootDir>/__tests__/readme-snippets/',
  '<rootDir>/__tests__/fabric-uploader/',
  '<rootDir>/__tests__/tags/',
  '<rootDir>/__tests__/build/',
];
