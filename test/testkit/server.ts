import type { DataSource } from 'typeorm';

import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { Database } from '../../src/db/database';
import { createServices } from '../../src/services';
import type { Services } from '../../src/services';
import { startApp } from '../../src/server/app';
import { createLogger } from '../../src/server/logger';
import { openTestDatabase } from './database';
import { QueryCounter } from './query-counter';

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
  queries: QueryCounter;
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

/** The real HTTP server on a random port, on a fresh test database. */
export async function startTestServer(
  options: { seedCatalog?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  const queries = new QueryCounter();
  const dataSource = await openTestDatabase({ logger: queries, seedCatalog: options.seedCatalog });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DEFAULT_TIER: 'basic',
    ...options.env,
  });
  const db = new Database(dataSource);
  const services = createServices(db, config);
  const app = await startApp({ config, db, services, logger: createLogger(config) });
  return {
    url: app.url,
    config,
    dataSource,
    db,
    services,
    queries,
    gql: (query, variables) => postGraphQL(app.url, query, variables),
    async stop() {
      await app.stop();
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
