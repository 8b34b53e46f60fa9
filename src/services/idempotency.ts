import { createHash, randomUUID } from 'node:crypto';

import { stringify } from 'safe-stable-stringify';
import type { EntityManager } from 'typeorm';
import { LessThan } from 'typeorm';

import type { Database } from '../db/database';
import { IdempotencyKeyRow } from '../db/entities';
import type { Statement } from '../db/raw-sql';
import { hydrate, statement, upsert } from '../db/raw-sql';
import { ConflictError } from '../errors';

/** Keys are kept at least this long (the README's "Idempotency keys"), then pruned. */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Either the key is new (do the work, then `complete` with its response) or it replays the first response. */
export type IdempotentStart =
  { replayed: true; response: string } | { replayed: false; complete(response: string): void };

/** A key of `claimAll`: new (the row claimed), a replay of its first response, or used with other input. */
export type IdempotentClaim =
  { replayed: true; response: string } | { replayed: false; claimed: IdempotencyKeyRow } | { conflict: true };

type Scope = { caller: string; operation: string };

/**
 * Idempotency keys, scoped per caller (the token's `sub`) and operation: another caller's key, even the
 * same string with the same input, is a different key. The key is claimed inside the operation's own
 * transaction, so the effect and the stored response commit together; a concurrent duplicate waits on the
 * claim (MySQL's row lock, SQLite's single writer) and then replays it.
 */
export class IdempotencyStore {
  constructor(private readonly db: Database) {}

  async start(manager: EntityManager, scope: Scope, key: string, request: object): Promise<IdempotentStart> {
    const [claim] = await this.claimAll(manager, scope, [{ key, request }]);
    if ('conflict' in claim) {
      throw new ConflictError(`The idempotency key "${key}" was already used with other input`);
    }
    if (claim.replayed) return claim;
    return { replayed: false, complete: (response) => this.completeAll(manager, [{ ...claim, response }]) };
  }

  /**
   * `start` for distinct keys of one scope, claimed in the order given (racing callers that order them alike
   * wait for each other rather than deadlock): one round trip on MySQL, whatever their number.
   */
  async claimAll(
    manager: EntityManager,
    scope: Scope,
    entries: readonly { key: string; request: object }[],
  ): Promise<IdempotentClaim[]> {
    const createdAt = new Date();
    const rows: IdempotencyKeyRow[] = entries.map(({ key, request }) => ({
      ...scope,
      idempotencyKey: key,
      claim: randomUUID(),
      requestHash: createHash('sha256').update(stringify(request)).digest('hex'),
      response: null,
      createdAt,
    }));
    const [, storedRows] = await this.db.readBatch(manager, [
      // A no-op upsert, not INSERT IGNORE: on a duplicate MySQL takes an exclusive lock at once, so racing
      // duplicates queue instead of deadlocking on the locking read below.
      keyUpsert(manager, rows, ['operation']),
      statement(
        manager,
        `SELECT * FROM idempotency_keys WHERE caller = :caller AND operation = :operation
         AND idempotency_key IN (:...keys)${this.db.forUpdateClause}`,
        { ...scope, keys: rows.map((row) => row.idempotencyKey) },
      ),
    ]);
    const stored = new Map(
      hydrate(manager, IdempotencyKeyRow, storedRows).map((row) => [row.idempotencyKey, row]),
    );
    return rows.map((row): IdempotentClaim => {
      const first = stored.get(row.idempotencyKey)!;
      if (first.claim === row.claim) return { replayed: false, claimed: row };
      if (first.requestHash !== row.requestHash) return { conflict: true };
      return { replayed: true, response: first.response as string };
    });
  }

  /** Stores the responses of claimed keys, with the transaction's commit (`Database.writeAtCommit`). */
  completeAll(
    manager: EntityManager,
    completed: readonly { claimed: IdempotencyKeyRow; response: string }[],
  ): void {
    if (completed.length === 0) return;
    this.db.writeAtCommit(
      manager,
      keyUpsert(
        manager,
        completed.map(({ claimed, response }) => ({ ...claimed, response })),
        ['response'],
      ),
    );
  }

  /** Forgets keys older than the retention period; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const result = await this.db.manager.delete(IdempotencyKeyRow, {
      createdAt: LessThan(new Date(now.getTime() - IDEMPOTENCY_KEY_RETENTION_MS)),
    });
    return result.affected ?? 0;
  }
}

/** Writes key rows: new ones as given, existing ones with `update` set from them. */
function keyUpsert(manager: EntityManager, rows: IdempotencyKeyRow[], update: string[]): Statement {
  return upsert(
    manager,
    'idempotency_keys',
    ['caller', 'operation', 'idempotency_key', 'claim', 'request_hash', 'response', 'created_at'],
    rows.map((row) => [
      row.caller,
      row.operation,
      row.idempotencyKey,
      row.claim,
      row.requestHash,
      row.response,
      row.createdAt,
    ]),
    { key: ['caller', 'operation', 'idempotency_key'], update },
  );
}
