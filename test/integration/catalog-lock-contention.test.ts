import type { DataSource, QueryRunner } from 'typeorm';

import { createDataSource, MYSQL_POOL_SIZE } from '../../src/db/data-source';
import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql, testDatabaseConfig } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

const CALLS = 60;
const USER = 'crowd';
const RECORD = 'mutation($input: RecordUsageInput!) { recordUsage(input: $input) { allowed } }';
const USED =
  'query($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { entitlement(feature: "api") { used } } } }';

/**
 * Issue 12 item 2: concurrent calls for one user queue on that user's license lock and fill the pool. If
 * the lock holder needed a second connection to read a catalog it has not cached (after a change, after
 * a restart), every connection would wait for the lock and the lock holder for a connection, until
 * MySQL's lock wait timeout (50 s). To have the queue full when the first call gets the lock, whatever
 * the timing, another session holds the lock until the pool is exhausted (as a slow change would).
 */
describeOnMysql('concurrent usage for one user while the catalog is not cached', () => {
  jest.setTimeout(40_000);
  let server: TestServer | undefined;
  let outsider: DataSource;
  /** One metering service per call: the calls of one caller would share a transaction and a connection. */
  let metering: string[];

  beforeAll(async () => {
    outsider = await createDataSource(testDatabaseConfig()).initialize();
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  afterAll(async () => {
    await outsider?.destroy();
  });

  const record = (caller = 0) =>
    server!.gqlAs(metering[caller], RECORD, { input: { userId: USER, feature: 'api' } });
  const used = async () => dataOf(await server!.gql(USED, { id: USER }))._entities[0].entitlement.used;

  /** Fires the calls while another session holds the user's lock, and lets go once every connection waits. */
  const recordManyBehindTheLock = async () => {
    const holder: QueryRunner = outsider.createQueryRunner();
    await holder.startTransaction();
    await holder.query('SELECT user_id FROM licenses WHERE user_id = ? FOR UPDATE', [USER]);
    const answers = Promise.all(Array.from({ length: CALLS }, (_, caller) => record(caller)));
    try {
      while ((server!.db.poolConnections()?.inUse ?? 0) < MYSQL_POOL_SIZE)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      await holder.commitTransaction();
      await holder.release();
    }
    return (await answers).map((answer) => dataOf(answer).recordUsage.allowed);
  };

  it('answers every call right after a catalog change and right after a restart, counting exactly', async () => {
    server = await startTestServer();
    metering = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => server!.token(`metering-${i}`, ['usage:write'])),
    );
    await createTestCatalog(server);
    dataOf(await record());
    dataOf(
      await server.gql('mutation($input: TierInput!) { upsertTier(input: $input) { key } }', {
        input: { key: 'basic', name: 'Basic', rank: 0, entitlements: [{ feature: 'api', limit: 1000 }] },
      }),
    );

    expect(await recordManyBehindTheLock()).toEqual(Array(CALLS).fill(true));
    expect(await used()).toBe(1 + CALLS);

    await server.stop();
    server = await startTestServer({ keepData: true });
    // Tokens of the first server's development key, which the restarted one keeps.
    expect(await recordManyBehindTheLock()).toEqual(Array(CALLS).fill(true));
    expect(await used()).toBe(1 + 2 * CALLS);
  });
});
