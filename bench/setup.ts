import { randomUUID } from 'node:crypto';

import type { Pool, PoolOptions } from 'mysql2/promise';
import { createConnection, createPool } from 'mysql2/promise';

import { createDataSource } from '../src/db/data-source';
import { prepareDatabase } from '../src/db/migrate';
import { periodWindow } from '../src/domain/periods';
import type { SeededOrganizations } from './setup-organizations';
import { seedOrganizations } from './setup-organizations';

/** The users of scenarios 1 to 3: `bench-0` ... `bench-999`. */
export const benchUserId = (index: number) => `bench-${index}`;
/** Subscribers of the fan-out scenario follow this user; each revocation revokes one of its grants. */
export const FANOUT_USER = 'fanout-user';
export const FANOUT_GRANTS = 12;
/** The memory scenario's subscriptions follow these users (one per layout); revoking a license proves them live. */
export const MEMORY_USERS = ['memory-user-1', 'memory-user-2'];
/** A METERED feature with a lifetime period that every bench user is granted with a huge limit. */
export const METER_FEATURE = 'bench.meter';
/** Counters the usage floor increments (same table, same statement, another feature key). */
export const FLOOR_FEATURE = 'bench.floor';
export const METER_LIMIT = 1_000_000_000;
export const TIERS = ['free', 'pro', 'enterprise'];

export interface SeededData extends SeededOrganizations {
  users: string[];
  fanoutGrantIds: string[];
}

/** mysql2 options for a mysql:// URL, as TypeORM's driver sets them (UTC DATETIMEs). */
export function mysqlOptions(url: string, extra: PoolOptions = {}): PoolOptions {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: parsed.pathname.slice(1) || undefined,
    timezone: 'Z',
    charset: 'utf8mb4',
    ...extra,
  };
}

export function openPool(url: string, connectionLimit: number): Pool {
  return createPool(mysqlOptions(url, { connectionLimit, waitForConnections: true }));
}

/** Drops and recreates the bench database, migrates it and seeds the demo catalog plus the bench rows. */
export async function resetAndSeed(url: string, userCount: number): Promise<SeededData> {
  const { database, ...server } = mysqlOptions(url);
  if (!database || !/^[A-Za-z0-9_]+$/.test(database))
    throw new Error(`BENCH_DATABASE_URL must name a database ([A-Za-z0-9_]+): ${url}`);
  const admin = await createConnection(server);
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.end();

  const dataSource = await createDataSource({ type: 'mysql', url }).initialize();
  try {
    await prepareDatabase(dataSource, { seedCatalog: true });
  } finally {
    await dataSource.destroy();
  }

  const pool = openPool(url, 4);
  try {
    return await seed(pool, userCount);
  } finally {
    await pool.end();
  }
}

const DAY = 86_400_000;

async function seed(pool: Pool, userCount: number): Promise<SeededData> {
  const now = new Date();
  const monthStart = periodWindow('MONTH', now).start;
  const lifetime = periodWindow('NEVER', now).start;
  await pool.query(
    'INSERT INTO features (`key`, kind, description, usage_period, created_at, updated_at) VALUES ?',
    [
      [
        [METER_FEATURE, 'METERED', 'Benchmark meter (lifetime)', 'NEVER', now, now],
        [FLOOR_FEATURE, 'METERED', 'Benchmark floor meter (lifetime)', 'NEVER', now, now],
      ],
    ],
  );

  const users = Array.from({ length: userCount }, (_, i) => benchUserId(i));
  const licenses: unknown[][] = [];
  const grants: unknown[][] = [];
  const counters: unknown[][] = [];
  const grant = (userId: string, feature: string, limit: number | null, expiresAt: Date | null) => {
    const id = randomUUID();
    grants.push([
      id,
      userId,
      feature,
      limit,
      null,
      new Date(now.getTime() - DAY),
      expiresAt,
      'bench',
      'bench seed',
      now,
    ]);
    return id;
  };
  const organizations = await seedOrganizations(pool, userCount, now);
  // The seated users have the personal data of the bench users with the same index.
  [...users, ...organizations.seatedUsers].forEach((userId, index) => {
    const i = index % userCount;
    // Every user has a base tier; every other one a running trial of enterprise.
    const trial = i % 2 === 0;
    licenses.push([
      userId,
      TIERS[i % TIERS.length],
      'ACTIVE',
      trial ? 'enterprise' : null,
      trial ? new Date(now.getTime() - DAY) : null,
      trial ? new Date(now.getTime() + 14 * DAY) : null,
      now,
      now,
    ]);
    grant(userId, 'api.calls', 5000, new Date(now.getTime() + 90 * DAY));
    grant(userId, 'export.pdf', null, null);
    grant(userId, METER_FEATURE, METER_LIMIT, null);
    counters.push([userId, 'api.calls', monthStart, i % 500, now]);
    counters.push([userId, 'projects', lifetime, i % 3, now]);
    counters.push([userId, METER_FEATURE, lifetime, 0, now]);
    counters.push([userId, FLOOR_FEATURE, lifetime, 0, now]);
  });
  licenses.push([FANOUT_USER, 'pro', 'ACTIVE', null, null, null, now, now]);
  const fanoutGrantIds = Array.from({ length: FANOUT_GRANTS }, () => grant(FANOUT_USER, 'sso', null, null));
  for (const userId of MEMORY_USERS) licenses.push([userId, 'pro', 'ACTIVE', null, null, null, now, now]);

  const insert = async (sql: string, rows: unknown[][]) => {
    for (let start = 0; start < rows.length; start += 1000) {
      await pool.query(sql, [rows.slice(start, start + 1000)]);
    }
  };
  await insert(
    'INSERT INTO licenses (user_id, base_tier_key, status, trial_tier_key, trial_started_at, trial_ends_at, created_at, updated_at) VALUES ?',
    licenses,
  );
  await insert(
    'INSERT INTO grants (id, user_id, feature_key, limit_amount, value, starts_at, expires_at, granted_by, reason, created_at) VALUES ?',
    grants,
  );
  await insert(
    'INSERT INTO usage_counters (user_id, feature_key, period_start, used, updated_at) VALUES ?',
    counters,
  );
  // Index statistics as a database that grew row by row would have them: InnoDB recomputes them in the
  // background after bulk inserts, and until then it may plan a scan of every grant for each state read.
  const [tables] = await pool.query('SHOW TABLES');
  const names = (tables as Record<string, string>[]).map((row) => Object.values(row)[0]);
  await pool.query(`ANALYZE TABLE ${names.map((name) => `\`${name}\``).join(', ')}`);
  return { users, fanoutGrantIds, ...organizations };
}

/** Every lifetime counter of `feature`, by user. */
export async function countersOf(pool: Pool, feature: string): Promise<Map<string, number>> {
  const [rows] = await pool.query(
    'SELECT user_id AS userId, used FROM usage_counters WHERE feature_key = ? AND period_start = ?',
    [feature, new Date(0)],
  );
  return new Map(
    (rows as { userId: string; used: string | number }[]).map((r) => [r.userId, Number(r.used)]),
  );
}
