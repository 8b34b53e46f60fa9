import pino from 'pino';

import { createLogger } from '../../src/logger';

/** The paths pino's own `redact` option would take: redactSecrets must write the very same lines. */
const PINO_PATHS = [
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

function linesOf(
  write: (logger: pino.Logger) => void,
  make: (destination: pino.DestinationStream) => pino.Logger,
) {
  const lines: string[] = [];
  const logger = make({ write: (line: string) => lines.push(line) });
  write(logger);
  // The time differs between the two loggers; everything else must not.
  return lines.map((line) => line.replace(/"time":\d+,/, ''));
}

class TokenError extends Error {
  constructor(
    message: string,
    readonly token: string,
    readonly code = 'E_TOKEN',
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

const cases: [string, object][] = [
  ['an access line', { reqId: 'r1', method: 'POST', path: '/graphql', statusCode: 200, durationMs: 1.5 }],
  ['top-level secrets of every type', { token: 'abc', secret: 42, authorization: { scheme: 'Bearer' } }],
  ['undefined and function secrets', { token: undefined, secret: () => 'x', other: 1 }],
  ['secrets one level down', { config: { token: 't', secret: 's', authorization: 'a', keep: 1 } }],
  ['secrets two levels down (kept)', { config: { nested: { token: 't' } } }],
  [
    'headers',
    {
      req: {
        method: 'GET',
        headers: { authorization: 'Bearer x', 'router-authorization': 'r', cookie: 'c', accept: '*/*' },
      },
    },
  ],
  ['headers without secrets', { req: { headers: { accept: '*/*' } } }],
  ['an error with a token', { err: new TokenError('boom', 'secret-token') }],
  ['an error without one', { err: Object.assign(new Error('plain'), { code: 'ECONNREFUSED' }) }],
  ['an error under another key', { error: new TokenError('boom', 'secret-token') }],
  ['arrays, null, dates', { list: [{ token: 't' }], nothing: null, at: new Date(0), token2: 'kept' }],
  ['a frozen object', { frozen: Object.freeze({ token: 't', keep: 1 }) }],
];

describe('log redaction', () => {
  it.each(cases)('writes %s as pino redact would', (_name, fields) => {
    const config = { logLevel: 'info', nodeEnv: 'production' } as const;
    const ours = linesOf(
      (logger) => logger.info(fields, 'line'),
      (destination) => createLogger(config, destination),
    );
    const theirs = linesOf(
      (logger) => logger.info(fields, 'line'),
      (destination) =>
        pino(
          {
            level: 'info',
            base: { service: 'entitlements-subgraph' },
            redact: { paths: PINO_PATHS, censor: '[redacted]' },
          },
          destination,
        ),
    );
    expect(ours).toEqual(theirs);
  });

  it('changes nothing of the object logged', () => {
    const fields = { token: 't', config: { secret: 's' }, err: new TokenError('boom', 'x') };
    createLogger({ logLevel: 'info', nodeEnv: 'production' }, { write: () => undefined }).info(fields);
    expect(fields.token).toBe('t');
    expect(fields.config.secret).toBe('s');
    expect(fields.err.token).toBe('x');
  });
});
