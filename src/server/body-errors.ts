import type { ErrorRequestHandler } from 'express';

/** Request bodies the JSON parser refuses (too large, malformed) get a GraphQL-shaped JSON answer. */
export const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const status = (error as { status?: number }).status;
  if (status === 413) {
    res.status(413).json({
      errors: [
        { message: 'The request body exceeds 1 MiB', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      ],
    });
  } else if (status === 400) {
    res.status(400).json({
      errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
    });
  } else {
    next(error);
  }
};
