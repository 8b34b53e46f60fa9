/**
 * The driver's message when `error` is a unique index refusing a row (MySQL names the index, SQLite its
 * columns), else null. Callers that race on purpose (SCIM's create) turn it into their own answer.
 */
export function uniqueViolation(error: unknown): string | null {
  const driverError = (error as { driverError?: unknown }).driverError ?? error;
  const { code, message } = driverError as { code?: unknown; message?: unknown };
  if (code !== 'ER_DUP_ENTRY' && code !== 'SQLITE_CONSTRAINT_UNIQUE') return null;
  return typeof message === 'string' ? message : '';
}
