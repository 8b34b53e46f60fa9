import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { loadOrCreateDevKey } from '../src/auth/dev-keys';
import { signDevToken } from '../src/auth/dev-tokens';
import type { BenchOptions } from './options';
import type { CpuProfile } from './profile-summary';
import { formatSummary, summarizeProfile } from './profile-summary';
import type { SeededData } from './setup';

export interface BenchContext {
  options: BenchOptions;
  seeded: SeededData;
  /** A token the bench's servers accept (signed with their development key), valid for an hour. */
  token(sub: string, scopes?: string[]): Promise<string>;
  /** Keeps a CPU profile and prints its top functions (with --profile). */
  saveProfile(name: string, profile: object): void;
  log(message: string): void;
}

/** The issuer and audience the bench's tokens carry, which its production servers require. */
const BENCH_TOKEN_CLAIMS = { issuer: 'entitlements-bench', audience: 'entitlements' };

/**
 * What production requires of a bench server: the bench's JWKS, issuer and audience as its identity provider,
 * and license signing keys. Outside production (neither is set): nothing.
 */
export function productionEnv(
  options: Pick<BenchOptions, 'jwksUrl' | 'licenseSigningKeys'>,
): NodeJS.ProcessEnv {
  if (!options.jwksUrl) return {};
  return {
    AUTH_JWKS_URL: options.jwksUrl,
    AUTH_ISSUER: BENCH_TOKEN_CLAIMS.issuer,
    AUTH_AUDIENCE: BENCH_TOKEN_CLAIMS.audience,
    LICENSE_SIGNING_KEYS: options.licenseSigningKeys,
  };
}

export function createContext(options: BenchOptions, seeded: SeededData): BenchContext {
  const key = loadOrCreateDevKey(options.devKeyFile);
  const log = (message: string) => process.stdout.write(`${message}\n`);
  return {
    options,
    seeded,
    async token(sub, scopes = []) {
      return signDevToken(await key, { sub, scopes, ttlSeconds: 3600, ...BENCH_TOKEN_CLAIMS });
    },
    saveProfile(name, profile) {
      mkdirSync(options.profileDir, { recursive: true });
      const file = join(options.profileDir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      const summary = formatSummary(file, summarizeProfile(profile as CpuProfile, 20));
      writeFileSync(join(options.profileDir, `${name}.top.txt`), `${summary}\n`);
      log(summary);
    },
    log,
  };
}

/** POSTs one GraphQL operation and returns the parsed body (throws on HTTP or GraphQL errors). */
export async function graphql<T = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors?.length) {
    throw new Error(`GraphQL request failed (${response.status}): ${JSON.stringify(body).slice(0, 500)}`);
  }
  return body.data as T;
}

/** Serves the development key's public half as a JWKS on loopback (for NODE_ENV=production). */
export async function serveJwks(devKeyFile: string): Promise<{ url: string; close(): void }> {
  const { publicJwk } = await loadOrCreateDevKey(devKeyFile);
  const body = JSON.stringify({ keys: [publicJwk] });
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/jwks.json`, close: () => server.close() };
}
