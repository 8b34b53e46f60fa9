import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

import type { CryptoKey, JWK } from 'jose';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';

import type { LicenseKeyStore } from '../db/license-key-store';

/** What license tokens are signed with (the contract's T2), and the key type each needs. */
const KEY_TYPES = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', digest: null },
  ES256: { kty: 'EC', crv: 'P-256', digest: 'sha256' },
} as const;
export type LicenseKeyAlgorithm = keyof typeof KEY_TYPES;
export const LICENSE_KEY_ALGORITHMS = Object.keys(KEY_TYPES) as LicenseKeyAlgorithm[];

/** A generated key: ES256, which every JOSE library and WebCrypto verify (Ed25519 is not everywhere yet). */
const GENERATED_ALGORITHM: LicenseKeyAlgorithm = 'ES256';

/** A private JWK that passed signingKeysProblems: `kid` and a supported `alg` set. */
export type SigningJwk = JWK & { kid: string; alg: LicenseKeyAlgorithm; d: string };

export interface LicenseKeyRing {
  /** The first key: it signs every token. */
  signer: { key: CryptoKey | Uint8Array; kid: string; alg: LicenseKeyAlgorithm };
  /** Every key's public half and nothing else, as /.well-known/jwks.json publishes them. */
  publicKeys: JWK[];
}

/**
 * The keys of LICENSE_SIGNING_KEYS when configured (the first signs; all are published, for rotation), else
 * the key generated once and kept in the database, so that every replica signs and publishes the same one.
 */
export async function loadLicenseKeys(
  configured: SigningJwk[] | undefined,
  store: LicenseKeyStore,
): Promise<LicenseKeyRing> {
  const generate = async () => JSON.stringify(await generateSigningKey());
  const keys = configured ?? [JSON.parse(await store.generatedKey(generate)) as SigningJwk];
  const [first] = keys;
  return {
    signer: { key: await importJWK(first, first.alg), kid: first.kid, alg: first.alg },
    publicKeys: keys.map(publicJwk),
  };
}

/** Only the public members: a private JWK may carry more than `d` (e.g. `key_ops: ["sign"]`). */
function publicJwk({ kty, crv, x, y, kid, alg }: SigningJwk): JWK {
  return { kty, crv, x, ...(y === undefined ? {} : { y }), kid, alg, use: 'sig' };
}

/** A new private JWK as LICENSE_SIGNING_KEYS holds them, its `kid` the key's thumbprint (RFC 7638). */
export async function generateSigningKey(alg = GENERATED_ALGORITHM): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg } as SigningJwk;
}

/**
 * What is wrong with LICENSE_SIGNING_KEYS's parsed value, one line per problem; none: a non-empty array of
 * private JWKs, each with a unique `kid`, a supported `alg`, and a key pair that signs and verifies.
 */
export function signingKeysProblems(keys: unknown): string[] {
  if (!Array.isArray(keys) || keys.length === 0) return ['must be a JSON array of private JWKs'];
  const problems = keys.map(signingKeyProblem).filter((problem) => problem !== null);
  const kids = keys.map((key) => (key as { kid?: unknown })?.kid);
  const repeated = kids.filter((kid, index) => typeof kid === 'string' && kids.indexOf(kid) !== index);
  for (const kid of new Set(repeated)) problems.push(`the kid "${kid}" is used twice`);
  return problems;
}

function signingKeyProblem(key: unknown, index: number): string | null {
  const jwk = (typeof key === 'object' && key !== null ? key : {}) as Record<string, unknown>;
  if (typeof jwk.kid !== 'string' || jwk.kid.trim() === '') return `key ${index + 1} has no "kid"`;
  const name = `key "${jwk.kid}"`;
  if (!Object.hasOwn(KEY_TYPES, String(jwk.alg))) {
    return `${name}: "alg" must be ${LICENSE_KEY_ALGORITHMS.join(' or ')}`;
  }
  const type = KEY_TYPES[jwk.alg as LicenseKeyAlgorithm];
  if (jwk.kty !== type.kty || jwk.crv !== type.crv) {
    return `${name}: ${jwk.alg} needs "kty": "${type.kty}" and "crv": "${type.crv}"`;
  }
  if (typeof jwk.d !== 'string') return `${name} is not a private key (it has no "d")`;
  return signsAndVerifies(jwk as JsonWebKey, type.digest) ? null : `${name} is not a valid key pair`;
}

/** The private part signs what the public part (x, y as given) verifies: a pasted half of another key fails. */
function signsAndVerifies(jwk: JsonWebKey, digest: string | null): boolean {
  try {
    const { d: _private, ...publicPart } = jwk;
    const privateKey: KeyObject = createPrivateKey({ key: jwk, format: 'jwk' });
    const publicKey: KeyObject = createPublicKey({ key: publicPart, format: 'jwk' });
    const probe = Buffer.from('license signing key check');
    return verify(digest, probe, publicKey, sign(digest, probe, privateKey));
  } catch {
    return false;
  }
}
