import { randomUUID } from 'node:crypto';

import type { Pool } from 'mysql2/promise';

/**
 * The organizations of the bench (issue 15), seeded in SQL as OrganizationService writes them: a license row
 * with its seat count, one ORGANIZATION_LICENSE_CHANGED event, and per seat a SEAT_ASSIGNED event that the
 * seat row points to (delivery tells who held a seat when an event was stored by those ids).
 */

/** The organization that the organization scenario downgrades; every member holds one of its seats. */
export const FANOUT_ORGANIZATION = 'org-fanout';
export const organizationMemberId = (index: number) => `org-member-${index}`;
/** The tiers organizations buy; the downgrade goes from the first to the second, the upgrade back. */
export const ORGANIZATION_TIERS = ['enterprise', 'pro'] as const;

/** Users with the personal data of `bench-i` who also hold seats, for the entity batch with seats. */
export const seatedUserId = (index: number) => `seated-${index}`;
const ORGANIZATIONS = 30;
const organizationId = (index: number) => `bench-org-${index}`;
/** A pooled METERED feature (lifetime) that every bench organization grants. */
export const POOL_FEATURE = 'bench.pool';

/** The organizations whose seats `seatedUserId(index)` holds: one to three, distinct. */
export function seatsOf(index: number): string[] {
  return Array.from({ length: 1 + (index % 3) }, (_, k) => organizationId((index + 11 * k) % ORGANIZATIONS));
}

export interface SeededOrganizations {
  seatedUsers: string[];
  organizationMembers: string[];
}

export async function seedOrganizations(
  pool: Pool,
  userCount: number,
  now: Date,
): Promise<SeededOrganizations> {
  const seatedUsers = Array.from({ length: userCount }, (_, i) => seatedUserId(i));
  const organizationMembers = Array.from({ length: userCount }, (_, i) => organizationMemberId(i));
  const holders = new Map<string, string[]>([[FANOUT_ORGANIZATION, organizationMembers]]);
  const tierOf = new Map<string, string>([[FANOUT_ORGANIZATION, ORGANIZATION_TIERS[0]]]);
  for (let j = 0; j < ORGANIZATIONS; j += 1) {
    holders.set(organizationId(j), []);
    tierOf.set(organizationId(j), ORGANIZATION_TIERS[j % ORGANIZATION_TIERS.length]);
  }
  seatedUsers.forEach((userId, i) => seatsOf(i).forEach((id) => holders.get(id)!.push(userId)));
  const organizations = [...holders.keys()];
  const insert = (sql: string, rows: unknown[][]) => pool.query(sql, [rows]);

  await pool.query(
    'INSERT INTO features (`key`, kind, description, usage_period, meter_scope, created_at, updated_at) VALUES (?)',
    [[POOL_FEATURE, 'METERED', 'Benchmark pooled meter (lifetime)', 'NEVER', 'ORGANIZATION', now, now]],
  );
  await insert(
    'INSERT INTO organization_licenses (organization_id, tier_key, seat_limit, seats_used, status, created_at, updated_at) VALUES ?',
    organizations.map((id) => [id, tierOf.get(id), null, holders.get(id)!.length, 'ACTIVE', now, now]),
  );
  await insert(
    'INSERT INTO license_events (type, organization_id, to_tier_key, actor, occurred_at) VALUES ?',
    organizations.map((id) => ['ORGANIZATION_LICENSE_CHANGED', id, tierOf.get(id), 'bench', now]),
  );
  await insert(
    'INSERT INTO license_events (type, user_id, organization_id, actor, occurred_at) VALUES ?',
    [...holders].flatMap(([id, users]) => users.map((userId) => ['SEAT_ASSIGNED', userId, id, 'bench', now])),
  );
  const [events] = await pool.query(
    "SELECT id, user_id AS userId, organization_id AS organizationId FROM license_events WHERE type = 'SEAT_ASSIGNED'",
  );
  await insert(
    'INSERT INTO seats (organization_id, user_id, assigned_at, assigned_by, assigned_event_id, held) VALUES ?',
    (events as { id: string; userId: string; organizationId: string }[]).map((event) => [
      event.organizationId,
      event.userId,
      now,
      'bench',
      event.id,
      1,
    ]),
  );

  // Each bench organization grants the pool (and every other one sso) and has drawn on it.
  const benchOrganizations = organizations.filter((id) => id !== FANOUT_ORGANIZATION);
  const since = new Date(now.getTime() - 86_400_000);
  await insert(
    'INSERT INTO grants (id, organization_id, feature_key, limit_amount, starts_at, granted_by, reason, created_at) VALUES ?',
    benchOrganizations.flatMap((id, j) => [
      [randomUUID(), id, POOL_FEATURE, 1_000_000, since, 'bench', 'bench seed', now],
      ...(j % 2 === 0 ? [[randomUUID(), id, 'sso', null, since, 'bench', 'bench seed', now]] : []),
    ]),
  );
  await insert(
    'INSERT INTO organization_usage_counters (organization_id, feature_key, period_start, used, updated_at) VALUES ?',
    benchOrganizations.map((id, j) => [id, POOL_FEATURE, new Date(0), j * 100, now]),
  );
  return { seatedUsers, organizationMembers };
}
