import type { Database } from './database';
import { LicenseSigningKeyRow } from './entities';

const GENERATED = 'generated';

/** Where the generated license signing key is kept, shared by every replica on the database. */
export class LicenseKeyStore {
  constructor(private readonly db: Database) {}

  /**
   * The stored private JWK (as JSON); when there is none yet, `create()`'s is stored first. Replicas that
   * start at once may each create one: the first insert wins and every replica reads that one back.
   */
  async generatedKey(create: () => Promise<string>): Promise<string> {
    const stored = await this.read();
    if (stored !== null) return stored;
    await this.db.manager
      .createQueryBuilder()
      .insert()
      .into(LicenseSigningKeyRow)
      .values({ name: GENERATED, privateJwk: await create(), createdAt: new Date() })
      // A no-op on a duplicate (not INSERT IGNORE, which would also turn a truncation into a warning).
      .orUpdate(['name'], ['name'])
      .execute();
    return (await this.read()) as string;
  }

  private async read(): Promise<string | null> {
    const row = await this.db.manager.findOneBy(LicenseSigningKeyRow, { name: GENERATED });
    return row?.privateJwk ?? null;
  }
}
