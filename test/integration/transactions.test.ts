import type { EntityManager } from 'typeorm';

import { LicenseRow } from '../../src/db/entities';
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
