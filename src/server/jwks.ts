import type { Handler } from './http-routes';
import { send } from './http-routes';

/**
 * Verifiers (jose's createRemoteJWKSet, routers) may keep the set this long. Rotation waits at least this
 * long between publishing a new key and signing with it (see README "License tokens").
 */
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /.well-known/jwks.json: the public keys of license tokens, and of the development access tokens when
 * the server signs its own. Public by nature: no bearer token, and outside ROUTER_SECRET like /healthz.
 */
export function jwksRoute(keys: object[]): Record<string, Handler> {
  const body = JSON.stringify({ keys });
  const headers = { 'cache-control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` };
  return {
    '/.well-known/jwks.json': (_req, res) => send(res, 200, 'application/json; charset=utf-8', body, headers),
  };
}
