import type { DataSource } from 'typeorm';

import { IdempotencyKeyRow, UsageCounterRow } from '../../src/db/entities';
import { migrations } from '../../src/db/migrations';
import { IdempotencyPerCaller1764780000000 } from '../../src/db/migrations/1764780000000-idempotency-per-caller';
import { createTestCatalog } from '../testkit/catalog';
import { openTestDatabase } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

/**
 * Issue 12 item 10: an idempotency key belongs to the caller that used it (the token's `sub`). Another
 * caller choosing the same key, with the same input or another, neither gets the first caller's result
 * nor a CONFLICT: its call is its own.
 */
describe('idempotency keys of different callers', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  const RECORD =
    'mutation($input: RecordUsageInput!) { recordUsage(input: $input) { allowed meter { used } } }';
  const GRANT =
    'mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id grantedBy } }';
  const as = async (sub: string, scopes: string[], query: string, input: Record<string, unknown>) =>
    dataOf(await server.gqlAs(await server.token(sub, scopes), query, { input }));
  const used = async (userId: string) =>
    (await server.dataSource.manager.findBy(UsageCounterRow, { userId })).reduce(
      (sum, row) => sum + Number(row.used),
      0,
    );

  it('are separate keys for recordUsage: the same input counts again, other input is no conflict', async () => {
    const input = { userId: 'shared-meter', feature: 'api', amount: 5, idempotencyKey: 'req-1' };
    const first = await as('meter-a', ['usage:write'], RECORD, input);
    const second = await as('meter-b', ['usage:write'], RECORD, input);
    expect(first.recordUsage.meter.used).toBe(5);
    expect(second.recordUsage.meter.used).toBe(10);
    const other = await as('meter-c', ['usage:write'], RECORD, { ...input, amount: 1 });
    expect(other.recordUsage.meter.used).toBe(11);
    // Each caller still replays its own.
    expect(await as('meter-b', ['usage:write'], RECORD, input)).toEqual(second);
    expect(await used('shared-meter')).toBe(11);
  });

  it('are separate keys for grantEntitlement', async () => {
    const input = { userId: 'shared-grant', feature: 'api', limit: 10, idempotencyKey: 'grant-1' };
    const admin = ['entitlements:write'];
    const first = (await as('admin-a', admin, GRANT, input)).grantEntitlement;
    const second = (await as('admin-b', admin, GRANT, input)).grantEntitlement;
    expect(second.id).not.toBe(first.id);
    expect([first.grantedBy, second.grantedBy]).toEqual(['admin-a', 'admin-b']);
    expect((await as('admin-a', admin, GRANT, input)).grantEntitlement).toEqual(first);
  });

  it('compare a JSON value whatever the order of its keys (the request hash is stable)', async () => {
    const input = { userId: 'shared-grant', feature: 'theme', idempotencyKey: 'theme-1' };
    const admin = ['entitlements:write'];
    const first = await as('admin-a', admin, GRANT, { ...input, value: { a: 1, B: { y: 2, x: 1 } } });
    const again = await as('admin-a', admin, GRANT, { ...input, value: { B: { x: 1, y: 2 }, a: 1 } });
    expect(again).toEqual(first);
  });
});

describe('the migration to keys per caller', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openTestDatabase();
  });
  afterAll(() => dataSource.destroy());

  it('drops the keys whose caller is unknown, and can be undone and run again', async () => {
    const position = migrations.indexOf(IdempotencyPerCaller1764780000000);
    for (let undo = migrations.length; undo > position; undo -= 1) await dataSource.undoLastMigration();
    await dataSource.query(
      `INSERT INTO idempotency_keys (operation, idempotency_key, claim, request_hash, response, created_at)
       VALUES ('recordUsage', 'legacy', 'c', 'h', NULL, '2026-01-01 00:00:00.000')`,
    );
    await dataSource.runMigrations();

    const repository = dataSource.getRepository(IdempotencyKeyRow);
    expect(await repository.count()).toBe(0);
    const row = {
      operation: 'recordUsage',
      idempotencyKey: 'k',
      claim: 'c',
      requestHash: 'h',
      response: null,
    };
    await repository.insert({ ...row, caller: 'a', createdAt: new Date() });
    await repository.insert({ ...row, caller: 'b', createdAt: new Date() });
    await expect(repository.insert({ ...row, caller: 'a', createdAt: new Date() })).rejects.toThrow();
  });
});
