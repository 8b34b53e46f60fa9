import type { EntityManager } from 'typeorm';

import { Database } from '../../src/db/database';
import { LicenseRow } from '../../src/db/entities';
import { statement } from '../../src/db/raw-sql';
import { describeOnMysql } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

/** A license row with nothing set but its user (and, optionally, a revoke reason to tell writes apart). */
const licenseRow = (userId: string, revokeReason: string | null = null) => ({
  userId,
  baseTierKey: null,
  status: 'ACTIVE' as const,
  revokedAt: null,
  revokeReason,
  trialTierKey: null,
  trialStartedAt: null,
  trialEndsAt: null,
  createdAt: new Date(),
  updatedAt: new Date(),
});

describeOnMysql('transactions on MySQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('run a deadlock victim again, so that both crossing transactions commit', async () => {
    await server.dataSource.manager.save(LicenseRow, [licenseRow('left'), licenseRow('right')]);
    const lock = (manager: EntityManager, userId: string) =>
      manager.findOne(LicenseRow, { where: { userId }, lock: { mode: 'pessimistic_write' } });
    let bothHoldOneLock: () => void = () => {};
    const firstLocksTaken = new Promise<void>((resolve) => {
      let held = 0;
      bothHoldOneLock = () => {
        held += 1;
        if (held === 2) resolve();
      };
    });
    let attempts = 0;
    const crossing = (first: string, second: string) =>
      server.db.transaction(async (manager) => {
        attempts += 1;
        await lock(manager, first);
        bothHoldOneLock();
        await firstLocksTaken;
        await lock(manager, second);
        await manager.update(LicenseRow, { userId: first }, { revokeReason: `${first} then ${second}` });
      });

    await Promise.all([crossing('left', 'right'), crossing('right', 'left')]);
    expect(attempts).toBe(3);
    const rows = await server.dataSource.manager.findBy(LicenseRow, {});
    expect(rows.map((row) => row.revokeReason).sort()).toEqual(['left then right', 'right then left']);
  });
});

describeOnMysql('a transaction on MySQL begins with its first statement', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No background reads: the round trips counted are the test's own.
    server = await startTestServer({ backgroundJobs: false });
    await server.dataSource.manager.save(LicenseRow, licenseRow('begun'));
  });
  afterAll(() => server.stop());

  const reasonOf = async (manager: EntityManager = server.dataSource.manager) =>
    (await manager.findOneByOrFail(LicenseRow, { userId: 'begun' })).revokeReason;

  it('in one round trip with it, its result as if sent alone, and both undone by a rollback', async () => {
    const before = server.queries.roundTrips;
    const affected = await server.db.transaction(
      async (manager) =>
        (await manager.update(LicenseRow, { userId: 'begun' }, { revokeReason: 'kept' })).affected,
    );
    expect(affected).toBe(1);
    // START TRANSACTION with the UPDATE, then COMMIT.
    expect(server.queries.roundTrips - before).toBe(2);

    const failing = server.db.transaction(async (manager) => {
      await manager.update(LicenseRow, { userId: 'begun' }, { revokeReason: 'undone' });
      throw new Error('changed its mind');
    });
    await expect(failing).rejects.toThrow('changed its mind');
    expect(await reasonOf()).toBe('kept');
  });

  it('at the isolation level asked for: READ COMMITTED reads what others commit meanwhile', async () => {
    const seen = await server.db.transaction(
      async (manager) => {
        const first = await reasonOf(manager);
        await server.dataSource.manager.update(
          LicenseRow,
          { userId: 'begun' },
          { revokeReason: 'meanwhile' },
        );
        return [first, await reasonOf(manager)];
      },
      { readCommitted: true },
    );
    expect(seen).toEqual(['kept', 'meanwhile']);
    // The default (REPEATABLE READ) keeps the first read's snapshot.
    const repeated = await server.db.transaction(async (manager) => {
      const first = await reasonOf(manager);
      await server.dataSource.manager.update(LicenseRow, { userId: 'begun' }, { revokeReason: 'later' });
      return [first, await reasonOf(manager)];
    });
    expect(repeated).toEqual(['meanwhile', 'meanwhile']);
  });
});

describe('a write sent with the commit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const reasons = async () =>
    (await server.dataSource.manager.findBy(LicenseRow, {}))
      .filter((row) => row.userId.startsWith('at-commit-'))
      .map((row) => [row.userId, row.revokeReason])
      .sort();

  it('commits with the transaction, and a failing one rolls all of it back', async () => {
    await server.dataSource.manager.save(LicenseRow, [licenseRow('at-commit-a'), licenseRow('at-commit-b')]);
    const reason = (manager: EntityManager, userId: string, text: string) =>
      statement(manager, 'UPDATE licenses SET revoke_reason = :text WHERE user_id = :userId', {
        text,
        userId,
      });

    await server.db.transaction(async (manager) => {
      await manager.update(LicenseRow, { userId: 'at-commit-a' }, { revokeReason: 'first' });
      server.db.writeAtCommit(manager, reason(manager, 'at-commit-b', 'at commit'));
    });
    expect(await reasons()).toEqual([
      ['at-commit-a', 'first'],
      ['at-commit-b', 'at commit'],
    ]);

    const failing = server.db.transaction(async (manager) => {
      await manager.update(LicenseRow, { userId: 'at-commit-a' }, { revokeReason: 'second' });
      server.db.writeAtCommit(manager, reason(manager, 'at-commit-b', 'second'));
      // A duplicate key: the write fails, and with it the transaction.
      server.db.writeAtCommit(
        manager,
        statement(
          manager,
          "INSERT INTO licenses (user_id, status, created_at, updated_at) VALUES ('at-commit-a', 'ACTIVE', :now, :now)",
          { now: new Date() },
        ),
      );
    });
    await expect(failing).rejects.toThrow();
    expect(await reasons()).toEqual([
      ['at-commit-a', 'first'],
      ['at-commit-b', 'at commit'],
    ]);
  });
});

describe('statements outside a transaction', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backgroundJobs: false });
    await server.dataSource.manager.insert(LicenseRow, [licenseRow('outside-a'), licenseRow('outside-b')]);
  });
  afterAll(() => server.stop());

  const reasonOf = async (userId: string) =>
    (await server.dataSource.manager.findOneByOrFail(LicenseRow, { userId })).revokeReason;

  // On SQLite every statement shares one connection, so these would run inside the open transaction.
  it('never read what an open transaction has not committed, and are not undone by its rollback', async () => {
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const rolledBack = server.db.transaction(async (manager) => {
      await manager.update(LicenseRow, { userId: 'outside-a' }, { revokeReason: 'uncommitted' });
      opened();
      await new Promise((resolve) => setTimeout(resolve, 200));
      throw new Error('rolled back');
    });
    await open;
    const [read] = await Promise.all([
      reasonOf('outside-a'),
      server.dataSource.manager.update(LicenseRow, { userId: 'outside-b' }, { revokeReason: 'kept' }),
    ]);
    await expect(rolledBack).rejects.toThrow('rolled back');
    expect(read).toBeNull();
    expect(await reasonOf('outside-a')).toBeNull();
    expect(await reasonOf('outside-b')).toBe('kept');
  });

  it('and transactions take turns with those of every Database on the same data source', async () => {
    const second = new Database(server.dataSource);
    const change = (db: Database, userId: string) =>
      db.transaction(async (manager) => {
        await manager.update(LicenseRow, { userId }, { revokeReason: 'both' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        return manager.findOneByOrFail(LicenseRow, { userId });
      });
    const changed = await Promise.all([change(server.db, 'outside-a'), change(second, 'outside-b')]);
    expect(changed.map((row) => row.revokeReason)).toEqual(['both', 'both']);
    expect(await reasonOf('outside-a')).toBe('both');
  });
});
