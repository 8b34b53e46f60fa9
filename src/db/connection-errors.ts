/** mysql2 / Node codes that mean "the database cannot be reached right now", not "this query is wrong". */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_CONNECTION_KILLED',
]);

/** Whether `error` (or what it wraps: TypeORM keeps the driver's error as `driverError`) is an outage. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    const { code, driverError, cause, message } = current as {
      code?: unknown;
      driverError?: unknown;
      cause?: unknown;
      message?: unknown;
    };
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    // mysql2 reports a connection that died under a query without a code.
    if (
      typeof message === 'string' &&
      /^(Connection lost|Can't add new command when connection is in closed state|Pool is closed)/.test(
        message,
      )
    ) {
      return true;
    }
    current = driverError ?? cause;
  }
  return false;
}
