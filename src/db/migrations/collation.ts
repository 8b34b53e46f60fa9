import type { QueryRunner } from 'typeorm';

/**
 * Identities must compare byte for byte. MySQL's default collations ignore case, and even `utf8mb4_bin`
 * ignores trailing spaces ("bob " would find bob's license), so a NO PAD binary collation is chosen:
 * `utf8mb4_0900_bin` on MySQL 8, `utf8mb4_nopad_bin` on MariaDB.
 */
export async function exactCollation(queryRunner: QueryRunner): Promise<string> {
  const candidates = ['utf8mb4_0900_bin', 'utf8mb4_nopad_bin'];
  const rows: { Collation: string }[] = await queryRunner.query(
    `SHOW COLLATION WHERE Collation IN (${candidates.map(() => '?').join(', ')})`,
    candidates,
  );
  const found = candidates.find((name) => rows.some((row) => row.Collation === name));
  if (!found) throw new Error(`The database has none of the collations ${candidates.join(', ')}`);
  return found;
}
