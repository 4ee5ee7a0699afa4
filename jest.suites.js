/**
 * Suites too slow for the unit run: property-based plan tests, the package-contents test, and the
 * KQL analysis of the deployed queries (loading Microsoft's Kusto analyzer takes seconds).
 */
exports.SLOW_SUITES = ['<rootDir>/__tests__/properties/', '<rootDir>/__tests__/package/', '<rootDir>/__tests__/kql/'];
