import type { EntityManager } from 'typeorm';

import type { EventFilter } from '../domain/event-filter';
import type { LicenseEvent } from '../domain/types';
import { LicenseEventRow } from './entities';
import { toLicenseEvent } from './mappers';
import { hydrate, statement } from './raw-sql';

/**
 * An organization's event (no user) reaches a user who held a seat when it was stored: a seat whose
 * assignment came before it and whose end, if any, after it. Seats are kept after they end, so this holds
 * for replays as for live delivery.
 */
const HELD_AT_EVENT = `s.organization_id = e.organization_id AND s.assigned_event_id < e.id
  AND (s.unassigned_event_id IS NULL OR s.unassigned_event_id > e.id)`;

/**
 * Stored events after `after`, oldest first, at most `limit`: every one, one organization's (its own and its
 * seats'), or what one user follows (its own events, and its organizations' events while it held a seat).
 */
export async function eventsAfter(
  manager: EntityManager,
  after: number,
  limit: number,
  filter: EventFilter,
): Promise<LicenseEvent[]> {
  const page = 'ORDER BY e.id LIMIT :limit';
  let sql: string;
  if (filter === null) sql = `SELECT e.* FROM license_events e WHERE e.id > :after ${page}`;
  else if ('organizationId' in filter) {
    sql = `SELECT e.* FROM license_events e WHERE e.organization_id = :organizationId AND e.id > :after ${page}`;
  } else {
    // Two indexed reads, merged: an OR across them would scan every event after the cursor.
    sql = `SELECT * FROM (
        SELECT * FROM (SELECT e.* FROM license_events e WHERE e.user_id = :userId AND e.id > :after ${page}) own
        UNION ALL
        SELECT * FROM (
          SELECT e.* FROM seats s JOIN license_events e ON ${HELD_AT_EVENT}
          WHERE s.user_id = :userId AND e.user_id IS NULL AND e.id > :after ${page}
        ) seated
      ) events ORDER BY id LIMIT :limit`;
  }
  const bound = statement(manager, sql, { after, limit, ...filter });
  const rows = await manager.query(bound.sql, bound.parameters);
  return hydrate(manager, LicenseEventRow, rows).map(toLicenseEvent);
}

/** Who held a seat when each of these organization events was stored, by event id. */
export async function seatHoldersAtEvents(
  manager: EntityManager,
  eventIds: string[],
): Promise<Map<string, string[]>> {
  const holders = new Map<string, string[]>();
  if (eventIds.length === 0) return holders;
  const { sql, parameters } = statement(
    manager,
    `SELECT e.id AS event_id, s.user_id AS user_id FROM license_events e JOIN seats s ON ${HELD_AT_EVENT}
     WHERE e.id IN (:...eventIds)`,
    { eventIds },
  );
  for (const row of (await manager.query(sql, parameters)) as { event_id: unknown; user_id: string }[]) {
    const id = String(row.event_id);
    const users = holders.get(id);
    if (users) users.push(row.user_id);
    else holders.set(id, [row.user_id]);
  }
  return holders;
}

/** The actor of the user's latest LICENSE_REVOKED event, if any (read under the license's lock). */
export async function lastRevocationActor(manager: EntityManager, userId: string): Promise<string | null> {
  const { sql, parameters } = statement(
    manager,
    `SELECT actor FROM license_events WHERE user_id = :userId AND type = 'LICENSE_REVOKED' ORDER BY id DESC LIMIT 1`,
    { userId },
  );
  const [row] = (await manager.query(sql, parameters)) as { actor: string }[];
  return row?.actor ?? null;
}
