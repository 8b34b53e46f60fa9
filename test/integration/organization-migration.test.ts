import type { DataSource } from 'typeorm';

import { migrations } from '../../src/db/migrations';
import { Organizations1764940000000 } from '../../src/db/migrations/1764940000000-organizations';
import { openTestDatabase } from '../testkit/database';

describe('the organizations migration', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openTestDatabase();
  });
  afterAll(() => dataSource.destroy());

  const undoOrganizations = async () => {
    const position = migrations.indexOf(Organizations1764940000000);
    for (let undo = migrations.length; undo > position; undo -= 1) await dataSource.undoLastMigration();
  };
  const insertEvent = (columns: string, values: string) =>
    dataSource.query(
      `INSERT INTO license_events (type, ${columns}actor, occurred_at) VALUES ('LICENSE_REVOKED', ${values}'x', '2026-01-01 00:00:00.000')`,
    );

  it('undone, makes user ids required again with no default; run again, makes them optional', async () => {
    await insertEvent('organization_id, ', "'org', ");
    await undoOrganizations();
    // An event without a user is refused, not stored with a made-up one.
    await expect(insertEvent('', '')).rejects.toThrow();
    expect(await dataSource.query('SELECT user_id FROM license_events')).toEqual([]);

    await dataSource.runMigrations();
    await insertEvent('organization_id, ', "'org', ");
    expect(await dataSource.query('SELECT user_id, organization_id FROM license_events')).toEqual([
      { user_id: null, organization_id: 'org' },
    ]);
  });
});
