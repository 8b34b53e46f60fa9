import { z } from 'zod';

import { KEY_PATTERN } from './domain/validation';
import type { SigningJwk } from './services/license-keys';
import { signingKeysProblems } from './services/license-keys';

/** The only place that reads `process.env`; everything else receives a `Config`. */
export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  /** The listen address; unset: every interface. */
  host: string | undefined;
  database: DatabaseConfig;
  redisUrl: string | undefined;
  /** How often each replica reads new events without being notified (a lost notice costs at most this). */
  eventPollIntervalMs: number;
  auth: {
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    jwksTimeoutMs: number;
    /** An unknown `kid` makes the JWKS be fetched again, at most this often. */
    jwksCooldownMs: number;
    /** Where the development signing key lives when no JWKS is configured. */
    devKeyFile: string;
  };
  defaultTier: string;
  licenseTokens: {
    /** The first signs, all are published; unset: a key generated once and kept in the database. */
    signingKeys: SigningJwk[] | undefined;
    issuer: string;
  };
  routerSecret: string | undefined;
  /** The shortest heartbeat interval a router's callback subscription may ask for. */
  callbackMinHeartbeatMs: number;
  /** Callback subscriptions one identity may have open at once. */
  callbackMaxSubscriptionsPerIdentity: number;
  /** When set, a callback URL must start with one of these (the router's callback `public_url`). */
  callbackUrlPrefixes: string[] | undefined;
  /**
   * Whether `_service { sdl }` declares `@authenticated` / `@requiresScopes` (for routers that enforce them);
   * the services enforce the same rules either way.
   */
  federationAuthDirectives: boolean;
  /** When set, `/metrics` answers only `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | undefined;
  seedCatalog: boolean;
  logLevel: LogLevel;
  webhooks: { allowPrivate: boolean; retryBaseMs: number; deliveryRetentionDays: number };
  webSockets: WebSocketLimits;
}

export interface WebSocketLimits {
  /** Operations one socket may have open at once; one more is refused with an error. */
  maxOperationsPerSocket: number;
  /** Authenticated sockets one identity (`sub`) may hold open; one more is closed with 4429. */
  maxSocketsPerIdentity: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  /** `queryTimeoutMs`: a statement without an answer by then fails (and its connection is dropped). */
  { type: 'mysql'; url: string; queryTimeoutMs?: number } | { type: 'better-sqlite3'; path: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(unsetIfEmpty, z.string().optional());
const booleanFlag = z.preprocess(
  unsetIfEmpty,
  z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .optional(),
);

/** Decimal digits only: `Number()` would also take ' ' (as 0) and '0x10'. */
const integer = (message: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((value) => value >= min && value <= max, message);

const socketCap = (fallback: number) =>
  z.preprocess(unsetIfEmpty, integer('must be 1 to 100000', 1, 100_000).default(fallback));

const environment = z.object({
  NODE_ENV: z.preprocess(
    unsetIfEmpty,
    z
      .enum(['development', 'test', 'production'], { message: 'must be development, test or production' })
      .default('development'),
  ),
  PORT: z.preprocess(unsetIfEmpty, integer('must be a port number', 0, 65535).default(4001)),
  HOST: optionalString,
  DATABASE_URL: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^(mysql:\/\/.+|sqlite:.+)$/, 'must be mysql://user:pass@host:3306/db or sqlite:PATH')
      .default('sqlite:./data/entitlements.sqlite'),
  ),
  DATABASE_QUERY_TIMEOUT_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be 100 to 600000', 100, 600_000).default(10_000),
  ),
  REDIS_URL: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  EVENT_POLL_INTERVAL_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be a positive integer', 50, 3_600_000).default(1000),
  ),
  AUTH_JWKS_URL: z.preprocess(
    unsetIfEmpty,
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  ),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_TIMEOUT_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be a positive integer', 1, 60_000).default(3000),
  ),
  AUTH_JWKS_COOLDOWN_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be a positive integer', 1, 3_600_000).default(30_000),
  ),
  AUTH_DEV_KEY_FILE: z.preprocess(unsetIfEmpty, z.string().default('./data/dev-signing-key.json')),
  DEFAULT_TIER: z.preprocess(
    unsetIfEmpty,
    z.string().regex(KEY_PATTERN, `must match ${KEY_PATTERN.source}`).default('free'),
  ),
  LICENSE_SIGNING_KEYS: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((text, ctx) => {
        let keys: unknown;
        try {
          keys = JSON.parse(text);
        } catch {
          keys = undefined;
        }
        // Every problem names a key by its kid or position, never by its material.
        for (const message of signingKeysProblems(keys)) ctx.addIssue({ code: 'custom', message });
        return keys as SigningJwk[];
      })
      .optional(),
  ),
  LICENSE_TOKEN_ISSUER: z.preprocess(unsetIfEmpty, z.string().default('entitlements-subgraph')),
  ROUTER_SECRET: optionalString,
  CALLBACK_MIN_HEARTBEAT_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be 10 to 3600000', 10, 3_600_000).default(1000),
  ),
  CALLBACK_MAX_SUBSCRIPTIONS_PER_IDENTITY: socketCap(1000),
  CALLBACK_URL_PREFIXES: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((value) => value.split(',').map((prefix) => prefix.trim()))
      .refine(
        (prefixes) => prefixes.every((prefix) => /^https?:\/\/[^/]+\/(.*\/)?$/.test(prefix)),
        'must be comma-separated http(s) URL prefixes, each ending with "/"',
      )
      // As callback URLs are compared: normalized (host in lower case, default port left out).
      .transform((prefixes) => prefixes.map((prefix) => new URL(prefix).href))
      .optional(),
  ),
  FEDERATION_AUTH_DIRECTIVES: booleanFlag,
  METRICS_TOKEN: optionalString,
  SEED_CATALOG: booleanFlag,
  LOG_LEVEL: z.preprocess(
    unsetIfEmpty,
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'must be fatal, error, warn, info, debug, trace or silent',
      })
      .default('info'),
  ),
  WEBHOOK_ALLOW_PRIVATE: booleanFlag,
  WEBHOOK_RETRY_BASE_MS: z.preprocess(
    unsetIfEmpty,
    integer('must be a positive integer', 1, Number.MAX_SAFE_INTEGER).default(5000),
  ),
  WEBHOOK_DELIVERY_RETENTION_DAYS: z.preprocess(
    unsetIfEmpty,
    integer('must be a whole number of days from 1 to 3650', 1, 3650).default(30),
  ),
  WS_MAX_OPERATIONS_PER_SOCKET: socketCap(1000),
  WS_MAX_SOCKETS_PER_IDENTITY: socketCap(100),
});

/** Every environment variable the subgraph reads. */
export const CONFIG_VARIABLES = Object.keys(environment.shape);

function parseDatabaseUrl(url: string, queryTimeoutMs: number): DatabaseConfig {
  return url.startsWith('mysql://')
    ? { type: 'mysql', url, queryTimeoutMs }
    : { type: 'better-sqlite3', path: url.slice('sqlite:'.length) };
}

/**
 * Production must not run on unverified identities, on tokens the IdP issued for another API (issuer and
 * audience unchecked), on a file database, or sign license tokens with a key anyone who reads the database
 * could copy.
 */
function productionProblems(env: NodeJS.ProcessEnv): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems = (['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'LICENSE_SIGNING_KEYS'] as const)
    .filter((name) => !env[name]?.trim())
    .map((name) => `${name}: is required when NODE_ENV=production`);
  if (!env.DATABASE_URL?.startsWith('mysql://'))
    problems.push('DATABASE_URL: production needs a mysql:// database');
  return problems;
}

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environment.safeParse(env);
  const problems = [
    ...(parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? []),
    ...productionProblems(env),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const vars = parsed.data;

  return {
    nodeEnv: vars.NODE_ENV,
    port: vars.PORT,
    host: vars.HOST,
    database: parseDatabaseUrl(vars.DATABASE_URL, vars.DATABASE_QUERY_TIMEOUT_MS),
    redisUrl: vars.REDIS_URL,
    eventPollIntervalMs: vars.EVENT_POLL_INTERVAL_MS,
    auth: {
      jwksUrl: vars.AUTH_JWKS_URL,
      issuer: vars.AUTH_ISSUER,
      audience: vars.AUTH_AUDIENCE,
      jwksTimeoutMs: vars.AUTH_JWKS_TIMEOUT_MS,
      jwksCooldownMs: vars.AUTH_JWKS_COOLDOWN_MS,
      devKeyFile: vars.AUTH_DEV_KEY_FILE,
    },
    defaultTier: vars.DEFAULT_TIER,
    licenseTokens: { signingKeys: vars.LICENSE_SIGNING_KEYS, issuer: vars.LICENSE_TOKEN_ISSUER },
    routerSecret: vars.ROUTER_SECRET,
    callbackMinHeartbeatMs: vars.CALLBACK_MIN_HEARTBEAT_MS,
    callbackMaxSubscriptionsPerIdentity: vars.CALLBACK_MAX_SUBSCRIPTIONS_PER_IDENTITY,
    callbackUrlPrefixes: vars.CALLBACK_URL_PREFIXES,
    federationAuthDirectives: vars.FEDERATION_AUTH_DIRECTIVES ?? true,
    metricsToken: vars.METRICS_TOKEN,
    seedCatalog: vars.SEED_CATALOG ?? true,
    logLevel: vars.LOG_LEVEL,
    webhooks: {
      allowPrivate: vars.WEBHOOK_ALLOW_PRIVATE ?? vars.NODE_ENV !== 'production',
      retryBaseMs: vars.WEBHOOK_RETRY_BASE_MS,
      deliveryRetentionDays: vars.WEBHOOK_DELIVERY_RETENTION_DAYS,
    },
    webSockets: {
      maxOperationsPerSocket: vars.WS_MAX_OPERATIONS_PER_SOCKET,
      maxSocketsPerIdentity: vars.WS_MAX_SOCKETS_PER_IDENTITY,
    },
  };
}
