import type { RequestHandler } from 'express';
import pino from 'pino';
import type { Logger } from 'pino';

import type { Config } from '../config';
import { currentRequestId } from './request-id';

export type { Logger };

/** Never written, whatever an error or a library puts in a log object. */
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["router-authorization"]',
  '*.headers.cookie',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

/** JSON lines on stdout; a line written while handling a request carries its `reqId`. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'entitlements-subgraph' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // A line's own fields win over the mixin's, so an explicit reqId (the access log's) is kept.
    mixin: () => {
      const reqId = currentRequestId();
      return reqId ? { reqId } : {};
    },
  });
}

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
