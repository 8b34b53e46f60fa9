import type { Logger } from 'typeorm';

/** A TypeORM logger that counts the SQL statements sent, to prove that reads are batched. */
export class QueryCounter implements Logger {
  count = 0;

  logQuery(): void {
    this.count += 1;
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
