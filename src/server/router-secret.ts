import { timingSafeEqual } from 'node:crypto';

import type { RequestHandler } from 'express';

/** With ROUTER_SECRET set, only a caller that knows it (the router) may send GraphQL requests. */
export function requireRouterSecret(secret: string): RequestHandler {
  const expected = Buffer.from(secret);
  return (req, res, next) => {
    const given = Buffer.from(req.get('router-authorization') ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    res.status(401).json({
      errors: [
        { message: 'Only the router may call this subgraph', extensions: { code: 'UNAUTHENTICATED' } },
      ],
    });
  };
}
