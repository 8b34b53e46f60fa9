import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { sendJson } from './http-routes';

/** Compares in constant time, so a secret cannot be guessed byte by byte from response times. */
export function matchesSecret(secret: string, given: string | string[] | undefined): boolean {
  const expected = Buffer.from(secret);
  const actual = Buffer.from(typeof given === 'string' ? given : '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * With ROUTER_SECRET set, only a caller that knows it (the router) may send GraphQL requests: anyone else
 * is answered 401 here, and true returned.
 */
export function refuseUnlessFromRouter(secret: string, req: IncomingMessage, res: ServerResponse): boolean {
  if (matchesSecret(secret, req.headers['router-authorization'])) return false;
  sendJson(res, 401, {
    errors: [{ message: 'Only the router may call this subgraph', extensions: { code: 'UNAUTHENTICATED' } }],
  });
  return true;
}
