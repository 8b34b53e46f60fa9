import { randomUUID } from 'node:crypto';

import { GrantRow, LicenseEventRow } from '../../src/db/entities';
import { ExpiryService } from '../../src/services/expiry.service';
import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

describe('recording expiries', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The test drives the sweeps itself.
    server = await startTestServer({ backgroundJobs: false });
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  it('records 300 expiries that come due together exactly once, with two replicas sweeping at the same time', async () => {
    const expired = new Date(Date.now() - 1000);
    const grants = Array.from({ length: 300 }, (_, i) => ({
      id: randomUUID(),
      userId: `mass-${i % 30}`,
      featureKey: 'sso',
      limit: null,
      value: null,
      startsAt: new Date(expired.getTime() - 60_000),
      expiresAt: expired,
      revokedAt: null,
      revokeReason: null,
      grantedBy: 'test',
      reason: null,
      createdAt: new Date(expired.getTime() - 60_000),
      expiryRecordedAt: null,
    }));
    for (let i = 0; i < grants.length; i += 100)
      await server.dataSource.manager.insert(GrantRow, grants.slice(i, i + 100));

    const otherReplica = new ExpiryService(
      server.db,
      server.services.licenseEventLog,
      'basic',
      server.services.overrides,
    );
    const [mine, theirs] = await Promise.all([
      server.services.expiries.recordDue(),
      otherReplica.recordDue(),
    ]);
    expect(mine + theirs).toBe(300);

    const events = await server.dataSource.manager.findBy(LicenseEventRow, { type: 'ENTITLEMENT_EXPIRED' });
    expect(events).toHaveLength(300);
    expect(new Set(events.map((event) => event.grantId)).size).toBe(300);
    expect(await server.services.expiries.recordDue()).toBe(0);
  });
});
