import { AsyncLocalStorage } from 'node:async_hooks';

import type { Logger } from 'pino';
import pino from 'pino';

import type { Config } from './config';

export type { Logger };

const currentRequest = new AsyncLocalStorage<string>();

/** Runs `work` as part of request `id`: every line logged from its async work carries `reqId`. */
export function withRequestId<T>(id: string, work: () => T): T {
  return currentRequest.run(id, work);
}

/** The id of the request being handled, wherever in its async work this is called from. */
export function currentRequestId(): string | undefined {
  return currentRequest.getStore();
}

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

/**
 * JSON lines on stdout; a line written while handling a request carries its `reqId`. In development on a
 * terminal the same lines are shown readable (pino-pretty); redaction applies before either.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>): Logger {
  const readable = config.nodeEnv === 'development' && process.stdout.isTTY;
  return pino({
    ...(readable && { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }),
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
