import type { RequestHandler } from 'express';

import type { Logger } from '../logger';
import { currentRequestId } from '../logger';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per HTTP request when it completes: method, path (no query string), status, duration and the
 * GraphQL operation name. No headers, no variables, no bodies: tokens and webhook secrets never get there.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const path = req.originalUrl.split('?')[0];
    if (QUIET_PATHS.has(path)) return next();
    const started = process.hrtime.bigint();
    // The id is taken now: 'finish' may fire outside the request's async context.
    const reqId = currentRequestId();
    res.once('finish', () => {
      const operationName = (req.body as { operationName?: unknown } | undefined)?.operationName;
      logger[res.statusCode >= 500 ? 'error' : 'info'](
        {
          reqId,
          method: req.method,
          path,
          statusCode: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          ...(typeof operationName === 'string' && operationName.length <= 100 ? { operationName } : {}),
        },
        'request completed',
      );
    });
    next();
  };
}
