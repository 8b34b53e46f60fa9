import type { EntityManager } from 'typeorm';

/** Every catalog change runs this in its transaction; replicas notice the new version on their next read. */
export async function bumpCatalogVersion(manager: EntityManager): Promise<void> {
  await manager.query('UPDATE catalog_version SET version = version + 1 WHERE id = 1');
}

/** The version of the committed catalog, as a string (MySQL returns BIGINT as one, SQLite as a number). */
export async function readCatalogVersion(manager: EntityManager): Promise<string> {
  const [row] = (await manager.query('SELECT version FROM catalog_version WHERE id = 1')) as {
    version: unknown;
  }[];
  return String(row.version);
}
