import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createConnection } from 'mysql2/promise';

// What Jest workers share and what each has of its own; the global setup prepares both before any worker runs.

/** Every test server and child process signs and verifies with this one development key. */
export const TEST_DEV_KEY_FILE = join(tmpdir(), 'entitlements-subgraph-test-key.json');

export const workerId = () => process.env.JEST_WORKER_ID ?? '1';

/** `url` with the database name suffixed by the Jest worker's id (1 when Jest runs in band). */
export function workerDatabaseUrl(url: string, worker = workerId()): string {
  const parsed = new URL(url);
  parsed.pathname = `${parsed.pathname}_w${worker}`;
  return parsed.toString();
}

/** Creates the database of each of `workers` Jest workers on the server TEST_DATABASE_URL names, if missing. */
export async function createWorkerDatabases(mysqlUrl: string, workers: number): Promise<void> {
  const server = new URL(mysqlUrl);
  const connection = await createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  });
  try {
    for (let worker = 1; worker <= workers; worker += 1) {
      const database = new URL(workerDatabaseUrl(mysqlUrl, String(worker))).pathname.slice(1);
      await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    }
  } finally {
    await connection.end();
  }
}
