import type { ErrorRequestHandler } from 'express';

/**
 * Request bodies the JSON parser refuses get a GraphQL-shaped JSON answer with the parser's status, never
 * Express's HTML error page (which outside production even carries a stack trace).
 */
export const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const status = (error as { status?: number }).status;
  if (status === undefined || status < 400 || status >= 500) return next(error);
  const [message, code] = BODY_PROBLEMS[status] ?? BODY_PROBLEMS[400];
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
};

const BODY_PROBLEMS: Record<number, [message: string, code: string]> = {
  400: ['The request body is not valid JSON', 'BAD_REQUEST'],
  413: ['The request body exceeds 1 MiB', 'GRAPHQL_VALIDATION_FAILED'],
  415: ['Unsupported charset or Content-Encoding: send JSON in UTF-8 (gzip, deflate or br)', 'BAD_REQUEST'],
};
