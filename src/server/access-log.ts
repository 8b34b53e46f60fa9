import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Logger } from '../logger';
import type { Exchange } from './http-routes';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per HTTP request when it completes: method, path (no query string), status, duration and the
 * GraphQL operation name. No headers, no variables, no bodies: tokens and webhook secrets never get there.
 */
export function logWhenFinished(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  exchange: Exchange,
): void {
  // Routed the same whatever the case or a trailing slash, so quiet the same.
  if (QUIET_PATHS.has(exchange.route)) return;
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const { operationName } = exchange;
    logger[res.statusCode >= 500 ? 'error' : 'info'](
      {
        reqId: exchange.id,
        method: req.method,
        path: exchange.path,
        statusCode: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...(operationName !== undefined && operationName.length <= 100 ? { operationName } : {}),
      },
      'request completed',
    );
  });
}
