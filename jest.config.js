const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
};

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swcOptions],
    // jose 6 ships ES modules only; Node 20.19+ can require() them, Jest's module system cannot.
    '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/testkit/global-setup.ts',
  testTimeout: 30000,
  // Suites mostly wait (on child processes, sockets, the database), so two workers pay even on two cores.
  // On MySQL each worker has a database of its own (test/testkit/database.ts); more workers would mean
  // more connection pools against max_connections.
  maxWorkers: process.env.TEST_DATABASE_URL?.startsWith('mysql')
    ? 2
    : Math.max(2, Math.floor(availableParallelism() / 2)),
};
