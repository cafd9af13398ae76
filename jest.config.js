/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
  },
  setupFiles: ['reflect-metadata'],
  // Builds dist/ once, before any test file runs (tests/support/build.ts says why only here).
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  reporters: ['default', '<rootDir>/tests/summary-reporter.js'],
  // Multi-process tests spawn real workers; a generous per-test timeout guards against hangs only.
  testTimeout: 120000,
  maxWorkers: 2,
};
