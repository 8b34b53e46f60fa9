import type { DestinationStream, Logger } from 'pino';
import pino from 'pino';

import type { Config } from './config';

export type { Logger };

/** Never written, whatever an error or a library puts in a log object: at the top of a line or one level down. */
const SECRET_KEYS = ['authorization', 'secret', 'token'];
/** ...and in the `headers` of an object at the top of a line. */
const SECRET_HEADERS = ['authorization', 'router-authorization', 'cookie'];
const CENSOR = '[redacted]';

/**
 * What pino's `redact` option does with the paths `authorization`, `secret`, `token`, `*.authorization`,
 * `*.secret`, `*.token`, `*.headers.authorization`, `*.headers["router-authorization"]` and
 * `*.headers.cookie` (the same lines come out), as a log formatter: pino runs its redactor on every field of
 * every line for a wildcard path, which made redaction most of what an access line costs.
 */
export function redactSecrets(line: Record<string, unknown>): Record<string, unknown> {
  let redacted: Record<string, unknown> | undefined;
  for (const key of Object.keys(line)) {
    const value = line[key];
    let replacement = value;
    if (SECRET_KEYS.includes(key)) {
      // pino leaves out undefined and functions before redacting.
      if (value !== undefined && typeof value !== 'function') replacement = CENSOR;
    } else if (typeof value === 'object' && value !== null) {
      replacement = withoutSecrets(value, SECRET_KEYS, true);
    }
    if (replacement !== value) (redacted ??= { ...line })[key] = replacement;
  }
  return redacted ?? line;
}

/**
 * `value` itself when none of `keys` is its own enumerable property (nor, with `headers`, one of its
 * headers'); else a copy with those censored, of the same prototype and own properties, so that an error
 * stays an error for pino's serializer.
 */
function withoutSecrets(value: object, keys: string[], headers: boolean): object {
  const own = (key: string) => Object.prototype.propertyIsEnumerable.call(value, key);
  const found = keys.filter(own);
  const headerValue = headers && own('headers') ? (value as { headers: unknown }).headers : null;
  const censoredHeaders =
    typeof headerValue === 'object' && headerValue !== null
      ? withoutSecrets(headerValue, SECRET_HEADERS, false)
      : headerValue;
  if (found.length === 0 && censoredHeaders === headerValue) return value;
  const descriptors = Object.getOwnPropertyDescriptors(value);
  const replace = (key: string, replacement: unknown) => {
    descriptors[key] = { value: replacement, enumerable: true, writable: true, configurable: true };
  };
  for (const key of found) replace(key, CENSOR);
  if (censoredHeaders !== headerValue) replace('headers', censoredHeaders);
  return Object.create(Object.getPrototypeOf(value), descriptors) as object;
}

/**
 * JSON lines on stdout (or `destination`). In development on a terminal the same lines are shown readable
 * (pino-pretty); redaction applies before either. Lines written for a request name its `reqId` themselves: an
 * AsyncLocalStorage that found it for them cost a quarter of the hot check's CPU (a hook on every promise).
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'nodeEnv'>,
  destination?: DestinationStream,
): Logger {
  const readable = config.nodeEnv === 'development' && process.stdout.isTTY && !destination;
  const options = {
    ...(readable && { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }),
    level: config.logLevel,
    base: { service: 'entitlements-subgraph' },
    formatters: { log: redactSecrets },
  };
  return destination ? pino(options, destination) : pino(options);
}
