import { timingSafeEqual } from 'node:crypto';

import type { RequestHandler } from 'express';

/** Compares in constant time, so a secret cannot be guessed byte by byte from response times. */
export function matchesSecret(secret: string, given: string | string[] | undefined): boolean {
  const expected = Buffer.from(secret);
  const actual = Buffer.from(typeof given === 'string' ? given : '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** With ROUTER_SECRET set, only a caller that knows it (the router) may send GraphQL requests. */
export function requireRouterSecret(secret: string): RequestHandler {
  return (req, res, next) => {
    if (matchesSecret(secret, req.get('router-authorization'))) return next();
    res.status(401).json({
      errors: [
        { message: 'Only the router may call this subgraph', extensions: { code: 'UNAUTHENTICATED' } },
      ],
    });
  };
}
