import type { DataSource } from 'typeorm';

import { Scope } from '../../src/auth/caller';
import { loadOrCreateDevKey } from '../../src/auth/dev-keys';
import { signDevToken } from '../../src/auth/dev-tokens';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { Database } from '../../src/db/database';
import type { LiveDelivery } from '../../src/events';
import type { Logger } from '../../src/logger';
import { createLogger } from '../../src/logger';
import { startSubgraph } from '../../src/runtime';
import type { Services } from '../../src/services';
import { QueryCounter } from '../../support/query-counter';
import { openTestDatabase } from './database';
import { TEST_DEV_KEY_FILE } from './workers';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: {
    message: string;
    path?: string[];
    extensions: { code: string; field?: string } & Record<string, unknown>;
  }[];
}

export interface TestServer {
  url: string;
  config: Config;
  dataSource: DataSource;
  db: Database;
  services: Services;
  live: LiveDelivery;
  /** ws://... of the same server. */
  wsUrl: string;
  queries: QueryCounter;
  /** As an administrator (`entitlements:read entitlements:write`). */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** With the given bearer token, or none. */
  gqlAs<T = Record<string, any>>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** A token signed with the server's development key. */
  token(sub: string, scopes?: string[], ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function mintToken(sub: string, scopes: string[] = [], ttlSeconds = 600): Promise<string> {
  return signDevToken(await loadOrCreateDevKey(TEST_DEV_KEY_FILE), { sub, scopes, ttlSeconds });
}

export const ADMIN_SCOPES = [Scope.read, Scope.write];

/** The real HTTP server on a random port, on a fresh test database. */
export async function startTestServer(
  options: {
    seedCatalog?: boolean;
    /** Serve the database the previous server left (MySQL, or a SQLite file), as after a restart. */
    keepData?: boolean;
    /** Extra environment, validated as the server would. */
    env?: NodeJS.ProcessEnv;
    /** Settings loadConfig would refuse here, e.g. nodeEnv 'production' on SQLite. */
    configOverrides?: Partial<Config>;
    /** false: no event feed reads, sweeps, webhook dispatch or pruning; for tests that count statements or drive them. */
    backgroundJobs?: boolean;
    /** Instead of the one LOG_LEVEL (TEST_LOG_LEVEL, default silent) makes. */
    logger?: Logger;
  } = {},
): Promise<TestServer> {
  const queries = new QueryCounter();
  const dataSource = await openTestDatabase({
    logger: queries,
    seedCatalog: options.seedCatalog,
    keepData: options.keepData,
  });
  const config: Config = {
    ...loadConfig({
      AUTH_DEV_KEY_FILE: TEST_DEV_KEY_FILE,
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DEFAULT_TIER: 'basic',
      ...options.env,
    }),
    ...options.configOverrides,
  };
  const subgraph = await startSubgraph(config, dataSource, options.logger ?? createLogger(config), {
    backgroundJobs: options.backgroundJobs,
  });
  const { db, services, live, app } = subgraph;
  const adminToken = await mintToken('admin', ADMIN_SCOPES);
  const gqlAs = (token: string | null, query: string, variables?: Record<string, unknown>) =>
    postGraphQL<any>(app.url, query, variables, token ? { authorization: `Bearer ${token}` } : {});
  return {
    url: app.url,
    config,
    dataSource,
    db,
    services,
    live,
    wsUrl: app.url.replace('http://', 'ws://'),
    queries,
    gql: (query, variables) => gqlAs(adminToken, query, variables),
    gqlAs,
    token: mintToken,
    async stop() {
      await subgraph.stop();
      await dataSource.destroy();
    },
  };
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** The data of a response that must not have failed. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}
