import type { DataSource, QueryRunner } from 'typeorm';

import { createDataSource } from '../../src/db/data-source';
import { describeOnMysql, openTestDatabase, testDatabaseConfig } from '../testkit/database';
import type { ServerProcess } from '../testkit/process';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { mintToken, postGraphQL } from '../testkit/server';

/**
 * Issue 12 item 6: TypeORM's own slow-statement log printed the bound parameters (a new webhook's
 * `whsec_` secret) as plain text, outside pino and its redaction. The statement here is made slow by a
 * table lock held elsewhere, past the query timeout (which is also the slow-statement threshold).
 */
describeOnMysql('database statements in the logs', () => {
  jest.setTimeout(60_000);
  let server: ServerProcess | undefined;
  let outsider: DataSource;

  /** The INSERT waits for a table lock held by another session until the query timeout fails it. */
  const createWebhookBehindALock = async (url: string, token: string) => {
    const locker: QueryRunner = outsider.createQueryRunner();
    await locker.connect();
    await locker.query('LOCK TABLES webhook_endpoints WRITE');
    try {
      return await postGraphQL<any>(
        url,
        'mutation { createWebhookEndpoint(url: "https://example.com/hooks") { secret } }',
        {},
        { authorization: `Bearer ${token}` },
      );
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.release();
    }
  };

  beforeAll(async () => {
    const dataSource = await openTestDatabase();
    await dataSource.destroy();
    outsider = await createDataSource(testDatabaseConfig()).initialize();
  });

  afterAll(async () => {
    await server?.stop();
    await outsider?.destroy();
  });

  it('logs a slow statement as a JSON line through pino, without its parameters', async () => {
    const { url: databaseUrl } = testDatabaseConfig() as { url: string };
    server = spawnServer({
      DATABASE_URL: databaseUrl,
      DATABASE_QUERY_TIMEOUT_MS: '500',
      SEED_CATALOG: 'false',
    });
    const url = await waitUntilReady(server);
    const admin = await mintToken('admin', ['entitlements:read', 'entitlements:write']);

    // Slow means over the timeout (the same setting), which the timer may hit to the millisecond: a few tries.
    const slowLogged = () => /slow database statement|query is slow/.test(server!.output());
    for (let attempt = 0; attempt < 10 && !slowLogged(); attempt += 1) {
      const answer = await createWebhookBehindALock(url, admin);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ reason: 'DATABASE_UNAVAILABLE' });
    }

    const lines = server.output().trim().split('\n');
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'slow database statement',
        sql: expect.stringContaining('webhook_endpoints'),
      }),
    );
    expect(server.output()).not.toContain('whsec_');
  });
});
