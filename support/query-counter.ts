import type { Logger } from 'typeorm';

/** A TypeORM logger that counts the SQL statements sent, to prove that reads are batched. */
export class QueryCounter implements Logger {
  count = 0;
  /** Queries sent: round trips, each with one statement or several. */
  roundTrips = 0;
  /** Transactions begun. */
  transactions = 0;
  /** While an array: every query sent, with its parameters (for a test that reads what was sent). */
  recorded: { query: string; parameters: unknown[] }[] | null = null;

  /** Statements, not round trips: a batch sent as one query (Database.readBatch) counts each of its parts. */
  logQuery(query: string, parameters: unknown[] = []): void {
    this.recorded?.push({ query, parameters });
    this.count += query.split(/;\s*\n/).length;
    this.roundTrips += 1;
    // A transaction's first statement carries its beginning (after any SET TRANSACTION): see Database.
    if (/^(START|BEGIN) TRANSACTION/im.test(query)) this.transactions += 1;
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
