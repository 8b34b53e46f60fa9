import type { Logger as AppLogger } from 'pino';
import type { Logger } from 'typeorm';

/**
 * TypeORM's own messages (slow statements, failures, migrations) as JSON lines through the application's
 * logger, never TypeORM's console. A statement is logged by its SQL text alone: bound parameters carry
 * webhook secrets and user data, and are never written. Without a logger, nothing is written.
 */
export class QueryLog implements Logger {
  constructor(private readonly logger: AppLogger | undefined) {}

  logQuery(): void {}

  logQuerySlow(durationMs: number, sql: string): void {
    this.logger?.warn({ durationMs, sql }, 'slow database statement');
  }

  /** The caller gets the error and reports it; its message may quote a value, so only the code is kept. */
  logQueryError(error: unknown, sql: string): void {
    this.logger?.debug({ sql, code: (error as { code?: unknown })?.code }, 'database statement failed');
  }

  logSchemaBuild(message: string): void {
    this.logger?.debug({ schema: message }, 'database schema');
  }

  logMigration(message: string): void {
    this.logger?.info({ migration: message }, 'database migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    this.logger?.[level === 'warn' ? 'warn' : 'info']({ detail: String(message) }, 'database');
  }
}
