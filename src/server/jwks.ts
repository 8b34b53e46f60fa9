import { Router } from 'express';

/**
 * Verifiers (jose's createRemoteJWKSet, routers) may keep the set this long. Rotation waits at least this
 * long between publishing a new key and signing with it (see README "License tokens").
 */
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /.well-known/jwks.json: the public keys of license tokens, and of the development access tokens when
 * the server signs its own. Public by nature: no bearer token, and outside ROUTER_SECRET like /healthz.
 */
export function jwksRoute(keys: object[]): Router {
  const body = JSON.stringify({ keys });
  const router = Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    res.type('application/json').send(body);
  });
  return router;
}
