import { AsyncLocalStorage } from 'node:async_hooks';

import type { DataSource, EntityManager, ObjectLiteral, QueryRunner, SelectQueryBuilder } from 'typeorm';
import { QueryResult } from 'typeorm/query-runner/QueryResult';

import type { Statement } from './raw-sql';

interface MysqlPoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
}

/** MySQL's own advice for these is "try restarting transaction". */
const RETRYABLE_MYSQL_ERRORS = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const MAX_ATTEMPTS = 3;

/**
 * The turns on TypeORM's SQLite connection, which every statement shares (the driver hands out one query runner
 * for everything): a statement outside a transaction would run inside whichever one is open, reading what it
 * has not committed, and a write would be lost with it on a rollback. So transactions run one after another,
 * and other statements take their turn between them, except those of the work of the transaction that has the
 * turn (which would otherwise wait for it). One per connection, however many Database objects share it.
 */
class SqliteTurns {
  private queue: Promise<unknown> = Promise.resolve();
  /** The transaction whose work is running, in that work's async context. */
  private readonly running = new AsyncLocalStorage<{ open: boolean }>();

  constructor(runner: QueryRunner) {
    const query = runner.query.bind(runner);
    runner.query = ((...args: Parameters<QueryRunner['query']>) =>
      this.running.getStore()?.open
        ? query(...args)
        : this.take(() => query(...args))) as QueryRunner['query'];
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.take(() => {
      const turn = { open: true };
      return this.running.run(turn, work).finally(() => (turn.open = false));
    });
  }

  private take<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const sqliteTurns = new WeakMap<QueryRunner, SqliteTurns>();

function turnsOn(dataSource: DataSource): SqliteTurns {
  const runner = dataSource.createQueryRunner();
  let turns = sqliteTurns.get(runner);
  if (!turns) sqliteTurns.set(runner, (turns = new SqliteTurns(runner)));
  return turns;
}

/**
 * The data source plus what differs between MySQL and SQLite: row locks, and SQLite's one connection, on
 * which transactions take turns (SqliteTurns).
 */
export class Database {
  private readonly sqlite: SqliteTurns | null;
  private readonly commitHooks = new WeakMap<EntityManager, (() => void)[]>();
  private readonly commitWrites = new WeakMap<EntityManager, Statement[]>();

  constructor(readonly dataSource: DataSource) {
    this.sqlite = this.isMysql ? null : turnsOn(dataSource);
  }

  get isMysql(): boolean {
    return this.dataSource.options.type === 'mysql';
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /**
   * Runs `work` in one transaction: everything it writes commits together, or nothing does. On MySQL a
   * transaction chosen as a deadlock victim is rolled back and run again, so `work` must only touch the
   * database through `manager`.
   *
   * `readCommitted`: on MySQL, every read sees what committed before it rather than the snapshot of the
   * transaction's first read, for work that takes locks after it has read (a SCIM group's members, then their
   * licenses) and must then read what the holders of those locks committed. (SQLite runs one at a time.)
   */
  async transaction<T>(
    work: (manager: EntityManager) => Promise<T>,
    options: { readCommitted?: boolean } = {},
  ): Promise<T> {
    if (this.sqlite) return this.sqlite.transaction(() => this.runOnce(work));
    const isolation = options.readCommitted ? 'READ COMMITTED' : undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.runOnce(work, isolation);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || !code || !RETRYABLE_MYSQL_ERRORS.has(code)) throw error;
      }
    }
  }

  /** Runs `callback` once the transaction of `manager` has committed (at once outside a transaction). */
  afterCommit(manager: EntityManager, callback: () => void): void {
    const hooks = this.commitHooks.get(manager);
    if (hooks) hooks.push(callback);
    else callback();
  }

  /**
   * Makes `write` the transaction's last statement, sent with its COMMIT in one round trip on MySQL: for a
   * write whose result nothing reads (counters under locks already held), so that those locks are released
   * a round trip sooner. A failure rolls the whole transaction back, as any of its statements would.
   */
  writeAtCommit(manager: EntityManager, write: Statement): void {
    const writes = this.commitWrites.get(manager);
    if (!writes) throw new Error('writeAtCommit needs a transaction of Database.transaction');
    writes.push(write);
  }

  private async runOnce<T>(
    work: (manager: EntityManager) => Promise<T>,
    isolation?: 'READ COMMITTED',
  ): Promise<T> {
    const hooks: (() => void)[] = [];
    const writes: Statement[] = [];
    const runner = this.dataSource.createQueryRunner();
    this.commitHooks.set(runner.manager, hooks);
    this.commitWrites.set(runner.manager, writes);
    try {
      if (this.isMysql) beginWithFirstStatement(runner, isolation);
      else await runner.startTransaction(isolation);
      let result: T;
      try {
        result = await work(runner.manager);
        await this.commit(runner, writes);
      } catch (error) {
        // The original error even if the rollback fails (the connection is then released broken).
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      for (const hook of hooks) hook();
      return result;
    } finally {
      await runner.release();
    }
  }

  private async commit(runner: QueryRunner, writes: Statement[]): Promise<void> {
    if (!this.isMysql || writes.length === 0) {
      for (const { sql, parameters } of writes) await runner.query(sql, parameters);
      await runner.commitTransaction();
      return;
    }
    await runner.query(
      [...writes.map(({ sql }) => sql), 'COMMIT'].join(';\n'),
      writes.flatMap(({ parameters }) => parameters),
    );
    // What TypeORM's commitTransaction does after its COMMIT (its transaction events are not used here).
    Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
  }

  /**
   * Statements in one round trip on MySQL (the pool allows multiple statements; every value is still a bound
   * parameter), one after another on SQLite, which is in-process anyway. Results in order. Reads, and the
   * writes that take the locks they must follow.
   */
  async readBatch(manager: EntityManager, statements: Statement[]): Promise<Record<string, unknown>[][]> {
    if (!this.isMysql || statements.length === 1) {
      const results: Record<string, unknown>[][] = [];
      for (const { sql, parameters } of statements) results.push(await manager.query(sql, parameters));
      return results;
    }
    return manager.query(
      statements.map(({ sql }) => sql).join(';\n'),
      statements.flatMap(({ parameters }) => parameters),
    );
  }

  /** The MySQL pool's connections (null on SQLite, whose driver shares one connection). */
  poolConnections(): { open: number; inUse: number } | null {
    if (!this.isMysql) return null;
    // mysql2 has no public counters; these two queues are what its own pool logic reads.
    const pool = (this.dataSource.driver as unknown as { pool?: MysqlPoolInternals }).pool;
    if (!pool?._allConnections || !pool._freeConnections) return null;
    const open = pool._allConnections.length;
    return { open, inUse: open - pool._freeConnections.length };
  }

  /**
   * `FOR UPDATE` where the database has it; SQLite holds a database-wide write lock instead. A locking
   * read also sees the latest committed row rather than the transaction's snapshot. (Not `FOR SHARE`:
   * TypeORM writes that MySQL 8 syntax, which MariaDB refuses.) For TypeORM's find options.
   */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.isMysql ? { mode: 'pessimistic_write' } : undefined;
  }

  /** `writeLock` for a raw SELECT: the clause to end it with. */
  get forUpdateClause(): string {
    return this.isMysql ? ' FOR UPDATE' : '';
  }

  /**
   * A shared lock for a raw SELECT (the clause to end it with): other readers may hold it too, a writer's
   * `FOR UPDATE` waits until commit. MariaDB's spelling, which MySQL accepts as well. A locking read sees the
   * latest committed rows, not the snapshot.
   */
  get shareLockClause(): string {
    return this.isMysql ? ' LOCK IN SHARE MODE' : '';
  }

  /** Makes `query` lock its rows until commit (FOR UPDATE), waiting for rows another transaction holds. */
  lockForUpdate<T extends ObjectLiteral>(query: SelectQueryBuilder<T>): SelectQueryBuilder<T> {
    return this.isMysql ? query.setLock('pessimistic_write') : query;
  }

  /**
   * Makes `query` claim its rows: locked until commit, and rows another transaction holds are skipped, not
   * waited for (FOR UPDATE SKIP LOCKED), so replicas working the same queue share it out.
   */
  claimSkippingLocked<T extends ObjectLiteral>(query: SelectQueryBuilder<T>): SelectQueryBuilder<T> {
    return this.isMysql ? query.setLock('pessimistic_write').setOnLocked('skip_locked') : query;
  }

  /**
   * Holds the event sequence lock until commit. Every transaction that stores events takes it first, so
   * event ids become visible in id order and a reader that follows ids (the event feed) can never pass over
   * an event that commits later. SQLite writes one transaction at a time anyway.
   */
  async lockEventSequence(manager: EntityManager): Promise<void> {
    if (this.isMysql) await manager.query('SELECT id FROM event_sequence WHERE id = 1 FOR UPDATE');
  }
}

/**
 * Begins a MySQL transaction with its first statement, in one round trip: TypeORM's startTransaction sends
 * START TRANSACTION (and the isolation level) on their own, a round trip each before the transaction has done
 * anything. The runner is marked as in a transaction at once, as startTransaction marks it; its first query
 * (whichever it is, COMMIT included) is sent after the beginning and answered without the beginning's results.
 */
function beginWithFirstStatement(runner: QueryRunner, isolation?: 'READ COMMITTED'): void {
  const beginning = [
    ...(isolation ? [`SET TRANSACTION ISOLATION LEVEL ${isolation}`] : []),
    'START TRANSACTION',
  ];
  Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
  const query = runner.query.bind(runner);
  const first = async (sql: string, parameters?: unknown[], structured?: boolean): Promise<unknown> => {
    runner.query = query;
    const raw = (await query([...beginning, sql].join(';\n'), parameters)) as unknown[];
    // One result per statement: a batch (readBatch, the commit's writes) expects them all, one statement its own.
    const results = raw.slice(beginning.length);
    const own: unknown = results.length === 1 ? results[0] : results;
    if (!structured) return own;
    // As TypeORM's MySQL runner builds a structured result (the affected rows of an update, say).
    const result = new QueryResult();
    result.raw = own;
    if (Array.isArray(own)) result.records = Array.from(own);
    if (own !== null && typeof own === 'object' && 'affectedRows' in own) {
      result.affected = (own as { affectedRows: number }).affectedRows;
    }
    return result;
  };
  runner.query = first as QueryRunner['query'];
}
