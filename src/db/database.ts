import type { DataSource, EntityManager } from 'typeorm';

/**
 * The data source plus what differs between MySQL and SQLite: row locks, and the fact that TypeORM's
 * SQLite driver shares one connection, so its transactions must run one after another.
 */
export class Database {
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly dataSource: DataSource) {}

  get isMysql(): boolean {
    return this.dataSource.options.type === 'mysql';
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /** Runs `work` in one transaction: everything it writes commits together, or nothing does. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isMysql) return this.dataSource.transaction(work);
    const run = this.sqliteQueue.then(() => this.dataSource.transaction(work));
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  /** `FOR UPDATE` where the database has it; SQLite holds a database-wide write lock instead. */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.isMysql ? { mode: 'pessimistic_write' } : undefined;
  }
}
