import type { Pool } from 'mysql2/promise';

import { FLOOR_FEATURE, METER_LIMIT } from './setup';
import { now, summarize } from './stats';

/** The usage floor's own amount of work: one conditional UPDATE of one counter, as a metering write needs. */
export const FLOOR_UPDATE =
  'UPDATE usage_counters SET used = used + ?, updated_at = ? ' +
  'WHERE user_id = ? AND feature_key = ? AND period_start = ? AND used + ? <= ?';

/**
 * The floor of the usage scenarios: FLOOR_UPDATE alone in autocommit, `connections` in flight on a mysql2
 * pool, for the next user in turn, on another feature's counters of the same users; a second of warm-up
 * first. Rows updated per second and the statements' latencies.
 */
export async function measureFloor(pool: Pool, users: string[], seconds: number, connections: number) {
  const latencies: number[] = [];
  const run = async (duration: number, record: boolean) => {
    let updated = 0;
    let cursor = 0;
    const deadline = now() + duration * 1000;
    const epoch = new Date(0);
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (now() < deadline) {
          const userId = users[cursor++ % users.length];
          const start = now();
          const [result] = await pool.query(FLOOR_UPDATE, [
            1,
            new Date(),
            userId,
            FLOOR_FEATURE,
            epoch,
            1,
            METER_LIMIT,
          ]);
          if (record) latencies.push(now() - start);
          updated += (result as { affectedRows: number }).affectedRows;
        }
      }),
    );
    return updated;
  };
  await run(1, false);
  const start = now();
  const updated = await run(seconds, true);
  return { rps: updated / ((now() - start) / 1000), updated, latency: summarize(latencies) };
}
