import { authenticated, Scope } from '../../src/auth/caller';
import { createDataSource } from '../../src/db/data-source';
import { UsageCounterRow } from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql, testDatabaseConfig } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

let server: TestServer;
let userSeq = 0;
const newUser = () => `together-user-${++userSeq}`;
const meter = authenticated('together-meter', [Scope.usageWrite], null);

/** What a call came to: its result, or the code and field of its error. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    (result) => ({ result }),
    (error: { extensions?: { code?: string; field?: string } }) => ({
      code: error.extensions?.code,
      field: error.extensions?.field,
    }),
  );

async function storedUsed(userId: string): Promise<number> {
  const rows = await server.dataSource.manager.findBy(UsageCounterRow, { userId, featureKey: 'api' });
  return rows.reduce((sum, row) => sum + Number(row.used), 0);
}

beforeAll(async () => {
  // No background jobs: the transactions counted must be the calls' alone.
  server = await startTestServer({ backgroundJobs: false });
  await createTestCatalog(server);
});
afterAll(() => server.stop());

describe('usage calls of one caller that arrive together', () => {
  it('share a transaction, in arrival order, each refused or answered as if it came alone', async () => {
    const usage = server.services.usage;
    const alice = newUser();
    const bob = newUser();
    const before = server.queries.transactions;
    const outcomes = await Promise.all([
      outcome(
        usage.recordUsageBatch(meter, [
          { userId: alice, feature: 'api', amount: 60 },
          { userId: bob, feature: 'api', amount: 10 },
        ]),
      ),
      outcome(usage.recordUsage(meter, { userId: alice, feature: 'api', amount: 30 })),
      // Malformed: the whole batch is refused, its first input with it.
      outcome(
        usage.recordUsageBatch(meter, [
          { userId: bob, feature: 'api', amount: 5 },
          { userId: bob, feature: 'nope', amount: 1 },
        ]),
      ),
      outcome(usage.recordUsage(meter, { userId: bob, feature: 'nope' })),
      // Alice's basic tier allows 100: 60 + 30 + 20 does not fit, 60 + 30 + 10 does.
      outcome(usage.recordUsage(meter, { userId: alice, feature: 'api', amount: 20 })),
      outcome(usage.recordUsage(meter, { userId: alice, feature: 'api', amount: 10 })),
    ]);
    const used = (answer: any) => [answer.allowed, answer.meter.used];
    expect((outcomes[0] as any).result.map(used)).toEqual([
      [true, 60],
      [true, 10],
    ]);
    expect(used((outcomes[1] as any).result)).toEqual([true, 90]);
    expect(outcomes[2]).toEqual({ code: 'BAD_USER_INPUT', field: 'inputs.1.feature' });
    expect(outcomes[3]).toMatchObject({ code: 'NOT_FOUND' });
    expect(used((outcomes[4] as any).result)).toEqual([false, 90]);
    expect(used((outcomes[5] as any).result)).toEqual([true, 100]);
    expect(await storedUsed(alice)).toBe(100);
    expect(await storedUsed(bob)).toBe(10);
    // One transaction that finds both refusals (and rolls back), one that records the rest.
    expect(server.queries.transactions - before).toBe(2);
  });

  it('answers a key used twice among them like its first use, and refuses it with other input', async () => {
    const usage = server.services.usage;
    const carol = newUser();
    const outcomes = await Promise.all([
      outcome(usage.recordUsage(meter, { userId: carol, feature: 'api', amount: 7, idempotencyKey: 'k-1' })),
      outcome(usage.recordUsage(meter, { userId: carol, feature: 'api', amount: 7, idempotencyKey: 'k-1' })),
      outcome(usage.recordUsage(meter, { userId: carol, feature: 'api', amount: 8, idempotencyKey: 'k-1' })),
      outcome(usage.recordUsage(meter, { userId: carol, feature: 'api', amount: 1 })),
    ]);
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect((outcomes[0] as any).result.meter.used).toBe(7);
    expect(outcomes[2]).toEqual({ code: 'CONFLICT', field: 'idempotencyKey' });
    expect((outcomes[3] as any).result.meter.used).toBe(8);
    expect(await storedUsed(carol)).toBe(8);
  });

  it('answers a call that shares a key with a refused call as if that call had not come', async () => {
    const usage = server.services.usage;
    const erin = newUser();
    const [refused, alone] = await Promise.all([
      outcome(
        usage.recordUsageBatch(meter, [
          { userId: erin, feature: 'api', amount: 1, idempotencyKey: 'shared' },
          { userId: erin, feature: 'nope' },
        ]),
      ),
      outcome(
        usage.recordUsage(meter, { userId: erin, feature: 'api', amount: 2, idempotencyKey: 'shared' }),
      ),
    ]);
    expect(refused).toEqual({ code: 'BAD_USER_INPUT', field: 'inputs.1.feature' });
    expect((alone as any).result).toMatchObject({ allowed: true, meter: { used: 2 } });
    expect(await storedUsed(erin)).toBe(2);
  });

  it('keeps arrival order when a call waits for a key an earlier call uses', async () => {
    const usage = server.services.usage;
    const gina = newUser();
    const [first, batch, last] = await Promise.all([
      outcome(usage.recordUsage(meter, { userId: gina, feature: 'api', amount: 1, idempotencyKey: 'g-1' })),
      outcome(
        usage.recordUsageBatch(meter, [
          { userId: gina, feature: 'api', amount: 1, idempotencyKey: 'g-1' },
          { userId: gina, feature: 'api', amount: 5, idempotencyKey: 'g-2' },
        ]),
      ),
      // Came after the batch: its key is the batch's, with other input.
      outcome(usage.recordUsage(meter, { userId: gina, feature: 'api', amount: 6, idempotencyKey: 'g-2' })),
    ]);
    expect((first as any).result.meter.used).toBe(1);
    // The batch's first input replays the first call; its second counts.
    expect((batch as any).result.map((r: any) => r.meter.used)).toEqual([1, 6]);
    expect(last).toEqual({ code: 'CONFLICT', field: 'idempotencyKey' });
    expect(await storedUsed(gina)).toBe(6);
  });

  it('finds every refused call in one pass, however many', async () => {
    const usage = server.services.usage;
    const frank = newUser();
    const before = server.queries.transactions;
    const outcomes = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) =>
        outcome(usage.recordUsage(meter, { userId: `${frank}-${i}`, feature: `missing-${i}` })),
      ),
      outcome(usage.recordUsage(meter, { userId: frank, feature: 'api', amount: 3 })),
    ]);
    expect(outcomes.slice(0, 50).every((refused) => (refused as any).code === 'NOT_FOUND')).toBe(true);
    expect((outcomes[50] as any).result.meter.used).toBe(3);
    expect(server.queries.transactions - before).toBe(2);
  });

  it('keeps callers apart: each caller its own transaction, idempotency keys and actor', async () => {
    const usage = server.services.usage;
    const dave = newUser();
    const other = authenticated('together-other-meter', [Scope.usageWrite], null);
    const before = server.queries.transactions;
    const [mine, theirs] = await Promise.all([
      usage.recordUsage(meter, { userId: dave, feature: 'api', amount: 2, idempotencyKey: 'same' }),
      usage.recordUsage(other, { userId: dave, feature: 'api', amount: 2, idempotencyKey: 'same' }),
    ]);
    expect([mine.meter.used, theirs.meter.used].sort()).toEqual([2, 4]);
    expect(server.queries.transactions - before).toBe(2);
  });
});

describeOnMysql('usage calls of one caller while one of them waits for a lock', () => {
  it('records the others meanwhile', async () => {
    const usage = server.services.usage;
    const held = newUser();
    const free = newUser();
    await usage.recordUsage(meter, { userId: held, feature: 'api' });
    const outsider = await createDataSource(testDatabaseConfig()).initialize();
    const holder = outsider.createQueryRunner();
    try {
      await holder.startTransaction();
      await holder.query('SELECT user_id FROM licenses WHERE user_id = ? FOR UPDATE', [held]);
      let waitingDone = false;
      const waiting = usage.recordUsage(meter, { userId: held, feature: 'api' }).finally(() => {
        waitingDone = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Another of the caller's transactions runs beside the one waiting for the lock.
      const other = usage.recordUsage(meter, { userId: free, feature: 'api' });
      const first = await Promise.race([
        other.then(() => 'recorded'),
        new Promise((resolve) => setTimeout(() => resolve('held up'), 5000)),
      ]);
      expect(first).toBe('recorded');
      expect(waitingDone).toBe(false);
      await holder.commitTransaction();
      expect((await other).meter.used).toBe(1);
      expect((await waiting).meter.used).toBe(2);
    } finally {
      if (holder.isTransactionActive) await holder.commitTransaction();
      await holder.release();
      await outsider.destroy();
    }
  });
});
