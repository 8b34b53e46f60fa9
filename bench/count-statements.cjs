'use strict';
/**
 * Preloaded into the bench's server processes (`node -r bench/count-statements.cjs dist/main.js`): counts the
 * SQL statements the process sends through mysql2 (several may travel in one round trip) (TypeORM's driver) and answers the bench's `statements`
 * message on the IPC channel. Background work (event feed, expiry sweeper, webhooks) is counted too; the
 * bench subtracts its idle rate.
 */
const { Connection } = require('mysql2');

const BaseConnection = Object.getPrototypeOf(Connection.prototype);
let count = 0;
for (const method of ['query', 'execute']) {
  const original = BaseConnection[method];
  BaseConnection[method] = function countedStatement(...args) {
    // A batch of statements sent in one round trip (Database.readBatch) counts each of its parts.
    const sql = typeof args[0] === 'string' ? args[0] : (args[0] && args[0].sql) || '';
    count += sql.split(/;\s*\n/).length;
    return original.apply(this, args);
  };
}

process.on('message', (message) => {
  if (message === 'statements') process.send({ statements: count });
});
// The channel must not keep the process alive.
if (process.channel) process.channel.unref();
