/**
 * Imported first by run.ts: graphql-js (and Express) read NODE_ENV once, when they are loaded, so with
 * --production it must be set before anything imports them (scenario 1 runs the app in this process).
 */
if (process.argv.includes('--production')) process.env.NODE_ENV = 'production';
