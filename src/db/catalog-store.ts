import type { EntityManager } from 'typeorm';

import type { Catalog } from '../domain/types';
import type { Database } from './database';
import { FeatureRow, TierEntitlementRow, TierRow } from './entities';
import { toFeature, toTier } from './mappers';

const READ_VERSION = 'SELECT version FROM catalog_version WHERE id = 1';

/** Every catalog change runs this in its transaction; replicas notice the new version on their next read. */
export async function bumpCatalogVersion(manager: EntityManager): Promise<void> {
  await manager.query('UPDATE catalog_version SET version = version + 1 WHERE id = 1');
}

/**
 * Features and tiers as every license read needs them. The catalog is small, so each replica keeps the last
 * one it read, with the version it was read at; a read checks the version row (one primary-key lookup) and
 * reads the three tables only after a change.
 */
export class CatalogStore {
  private cached: { version: string; catalog: Promise<Catalog>; ready: boolean } | null = null;

  constructor(private readonly db: Database) {}

  /** The committed catalog, outside any transaction. */
  async current(): Promise<Catalog> {
    const [row] = (await this.db.manager.query(READ_VERSION)) as { version: unknown }[];
    return this.atVersion(this.db.manager, row.version);
  }

  /**
   * The catalog as of `version` (read with the caller's own statements): the cached one unless it changed.
   * A miss reads through `manager`, the caller's own connection: a transaction may hold a lock, and must
   * never wait for another connection from the pool (the callers queued on its lock may hold them all),
   * so it does not wait for a read in progress elsewhere either.
   */
  atVersion(manager: EntityManager, version: unknown): Promise<Catalog> {
    // MySQL returns the BIGINT as a string, SQLite as a number.
    const key = String(version);
    const cached = this.cached;
    if (cached?.version === key && (cached.ready || !manager.queryRunner?.isTransactionActive)) {
      return cached.catalog;
    }
    // A change committed after the version was read is caught by the next read's check.
    const entry = { version: key, catalog: this.read(manager), ready: false };
    this.cached = entry;
    entry.catalog.then(
      () => (entry.ready = true),
      () => {
        if (this.cached === entry) this.cached = null;
      },
    );
    return entry.catalog;
  }

  private async read(manager: EntityManager): Promise<Catalog> {
    const [featureRows, tierRows, entryRows] = await Promise.all([
      manager.find(FeatureRow, { order: { key: 'ASC' } }),
      manager.find(TierRow, { order: { rank: 'ASC', key: 'ASC' } }),
      manager.find(TierEntitlementRow, { order: { featureKey: 'ASC' } }),
    ]);
    const features = new Map(featureRows.map((row) => [row.key, toFeature(row)]));
    const tiers = new Map(
      tierRows.map((row) => [
        row.key,
        toTier(
          row,
          entryRows.filter((e) => e.tierKey === row.key),
          features,
        ),
      ]),
    );
    return { features, tiers };
  }
}
