/** Suites too slow for the unit run: property-based plan tests and the package-contents test. */
exports.SLOW_SUITES = ['<rootDir>/__tests__/properties/', '<rootDir>/__tests__/package/'];
