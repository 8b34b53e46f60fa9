import { createHash, randomUUID } from 'node:crypto';

import { stringify } from 'safe-stable-stringify';
import type { EntityManager } from 'typeorm';
import { LessThan } from 'typeorm';

import type { Database } from '../db/database';
import { IdempotencyKeyRow } from '../db/entities';
import { ConflictError } from '../errors';

/** Keys are kept at least this long (the README's "Idempotency keys"), then pruned. */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Either the key is new (do the work, then `complete` with its response) or it replays the first response. */
export type IdempotentStart =
  { replayed: true; response: string } | { replayed: false; complete(response: string): Promise<void> };

/**
 * Idempotency keys, scoped per caller (the token's `sub`) and operation: another caller's key, even the
 * same string with the same input, is a different key. The key is claimed inside the operation's own
 * transaction, so the effect and the stored response commit together; a concurrent duplicate waits on the
 * claim (MySQL's row lock, SQLite's single writer) and then replays it.
 */
export class IdempotencyStore {
  constructor(private readonly db: Database) {}

  async start(
    manager: EntityManager,
    scope: { caller: string; operation: string },
    key: string,
    request: object,
  ): Promise<IdempotentStart> {
    const requestHash = createHash('sha256').update(stringify(request)).digest('hex');
    const claim = randomUUID();
    const id = { ...scope, idempotencyKey: key };
    await manager
      .createQueryBuilder()
      .insert()
      .into(IdempotencyKeyRow)
      .values({ ...id, claim, requestHash, response: null, createdAt: new Date() })
      // A no-op upsert, not INSERT IGNORE: on a duplicate MySQL takes an exclusive lock at once, so racing
      // duplicates queue instead of deadlocking on the locking read below.
      .orUpdate(['operation'], ['caller', 'operation', 'idempotency_key'])
      .execute();
    const stored = await manager.findOneOrFail(IdempotencyKeyRow, { where: id, lock: this.db.writeLock });
    if (stored.claim === claim) {
      return {
        replayed: false,
        complete: async (response) => {
          await manager.update(IdempotencyKeyRow, id, { response });
        },
      };
    }
    if (stored.requestHash !== requestHash) {
      throw new ConflictError(`The idempotency key "${key}" was already used with other input`);
    }
    return { replayed: true, response: stored.response as string };
  }

  /** Forgets keys older than the retention period; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const result = await this.db.manager.delete(IdempotencyKeyRow, {
      createdAt: LessThan(new Date(now.getTime() - IDEMPOTENCY_KEY_RETENTION_MS)),
    });
    return result.affected ?? 0;
  }
}
