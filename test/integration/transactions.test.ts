import type { EntityManager } from 'typeorm';

import { LicenseRow } from '../../src/db/entities';
import { statement } from '../../src/db/raw-sql';
import { describeOnMysql } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

describeOnMysql('transactions on MySQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('run a deadlock victim again, so that both crossing transactions commit', async () => {
    const now = new Date();
    for (const userId of ['left', 'right']) {
      await server.dataSource.manager.save(LicenseRow, {
        userId,
        baseTierKey: null,
        status: 'ACTIVE',
        revokedAt: null,
        revokeReason: null,
        trialTierKey: null,
        trialStartedAt: null,
        trialEndsAt: null,
        createdAt: now,
        updatedAt: now,
      });
    }
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

describe('a write sent with the commit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const license = (userId: string, revokeReason: string | null = null) => ({
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
  const reasons = async () =>
    (await server.dataSource.manager.findBy(LicenseRow, {}))
      .filter((row) => row.userId.startsWith('at-commit-'))
      .map((row) => [row.userId, row.revokeReason])
      .sort();

  it('commits with the transaction, and a failing one rolls all of it back', async () => {
    await server.dataSource.manager.save(LicenseRow, [license('at-commit-a'), license('at-commit-b')]);
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
