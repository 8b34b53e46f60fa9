import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import type { CryptoKey, JWK } from 'jose';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';

export const DEV_KEY_ALGORITHM = 'ES256';

export interface DevSigningKey {
  privateKey: CryptoKey;
  /** The public half, as served at /.well-known/jwks.json. */
  publicJwk: JWK;
  kid: string;
}

/**
 * The development signing key: created on first use, then reused from `path`, so that tokens minted by
 * `npm run token` stay valid across restarts. Only used when no identity provider is configured.
 */
export async function loadOrCreateDevKey(path: string): Promise<DevSigningKey> {
  const stored = readStoredKey(path) ?? (await createKey(path));
  const { d: _private, ...publicJwk } = stored;
  return {
    privateKey: (await importJWK(stored, DEV_KEY_ALGORITHM)) as CryptoKey,
    publicJwk,
    kid: stored.kid as string,
  };
}

function readStoredKey(path: string): JWK | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function createKey(path: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(DEV_KEY_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const key: JWK = { ...jwk, alg: DEV_KEY_ALGORITHM, use: 'sig', kid: await calculateJwkThumbprint(jwk) };
  mkdirSync(dirname(path), { recursive: true });
  try {
    // 'wx' fails if another process created the key first; then that key is the one to use.
    writeFileSync(path, JSON.stringify(key), { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readStoredKey(path) as JWK;
  }
}
