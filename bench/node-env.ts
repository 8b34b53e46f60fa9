/**
 * Imported first by run.ts: graphql-js (and Express) read NODE_ENV once, when they are loaded, so it must be
 * set before anything imports them (scenario 1 runs the app in this process). Production unless --development.
 */
process.env.NODE_ENV = process.argv.includes('--development') ? 'development' : 'production';
