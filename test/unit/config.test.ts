import type { JsonWebKey } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';

import type { Config } from '../../src/config';
import { ConfigError, loadConfig } from '../../src/config';

/** A private JWK of a fresh key pair, as LICENSE_SIGNING_KEYS holds them. */
function signingJwk(type: 'ed25519' | 'ec', kid: string): JsonWebKey {
  const { privateKey } =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: type === 'ec' ? 'ES256' : 'EdDSA' };
}
const ED_KEY = signingJwk('ed25519', 'ed-1');
const EC_KEY = signingJwk('ec', 'ec-1');
const SIGNING_KEYS = JSON.stringify([ED_KEY, EC_KEY]);

const PRODUCTION = {
  NODE_ENV: 'production',
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  AUTH_ISSUER: 'https://idp.example.com/',
  AUTH_AUDIENCE: 'entitlements',
  DATABASE_URL: 'mysql://app:secret@db:3306/entitlements',
  LICENSE_SIGNING_KEYS: SIGNING_KEYS,
};

const DEFAULTS: Config = {
  nodeEnv: 'development',
  port: 4001,
  host: undefined,
  database: { type: 'better-sqlite3', path: './data/entitlements.sqlite' },
  redisUrl: undefined,
  eventPollIntervalMs: 1000,
  auth: {
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    jwksTimeoutMs: 3000,
    jwksCooldownMs: 30000,
    devKeyFile: './data/dev-signing-key.json',
  },
  defaultTier: 'free',
  licenseTokens: { signingKeys: undefined, issuer: 'entitlements-subgraph' },
  routerSecret: undefined,
  callbackMinHeartbeatMs: 1000,
  callbackMaxSubscriptionsPerIdentity: 1000,
  callbackUrlPrefixes: undefined,
  federationAuthDirectives: true,
  metricsToken: undefined,
  seedCatalog: true,
  logLevel: 'info',
  webhooks: { allowPrivate: true, retryBaseMs: 5000, deliveryRetentionDays: 30 },
  webSockets: { maxOperationsPerSocket: 1000, maxSocketsPerIdentity: 100 },
};

/** Runs loadConfig on `env`, expects a ConfigError and returns it. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

const problemVariables = (error: ConfigError) => error.problems.map((p) => p.split(':')[0]).sort();

describe('loadConfig defaults', () => {
  it('uses the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
  });

  it('counts empty strings as unset', () => {
    const empty = {
      NODE_ENV: '',
      PORT: '',
      DATABASE_URL: '',
      REDIS_URL: '',
      AUTH_JWKS_URL: '',
      AUTH_ISSUER: '',
      AUTH_AUDIENCE: '',
      DEFAULT_TIER: '',
      ROUTER_SECRET: '',
      SEED_CATALOG: '',
      LOG_LEVEL: '',
      WEBHOOK_ALLOW_PRIVATE: '',
      WEBHOOK_RETRY_BASE_MS: '',
      WEBHOOK_DELIVERY_RETENTION_DAYS: '',
    };
    expect(loadConfig(empty)).toEqual(DEFAULTS);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ HOME: '/root', SOMETHING_ELSE: '!!' })).toEqual(DEFAULTS);
  });
});

describe('loadConfig values', () => {
  it('reads every documented variable', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '8080',
      DATABASE_URL: 'mysql://app:secret@db:3306/entitlements',
      DATABASE_QUERY_TIMEOUT_MS: '2500',
      REDIS_URL: 'redis://cache:6379',
      AUTH_JWKS_URL: 'https://idp.example.com/jwks',
      AUTH_ISSUER: 'https://idp.example.com/',
      AUTH_AUDIENCE: 'entitlements',
      AUTH_JWKS_TIMEOUT_MS: '1500',
      AUTH_DEV_KEY_FILE: '/tmp/key.json',
      DEFAULT_TIER: 'basic',
      LICENSE_SIGNING_KEYS: SIGNING_KEYS,
      LICENSE_TOKEN_ISSUER: 'https://licenses.example.com',
      HOST: '127.0.0.1',
      ROUTER_SECRET: 's3cret',
      CALLBACK_MIN_HEARTBEAT_MS: '2000',
      CALLBACK_MAX_SUBSCRIPTIONS_PER_IDENTITY: '20',
      CALLBACK_URL_PREFIXES: 'http://Router:4000/callback/, https://router.example.com/cb/',
      METRICS_TOKEN: 'scrape-me',
      FEDERATION_AUTH_DIRECTIVES: 'false',
      SEED_CATALOG: 'false',
      LOG_LEVEL: 'debug',
      WEBHOOK_ALLOW_PRIVATE: 'false',
      WEBHOOK_RETRY_BASE_MS: '250',
      WEBHOOK_DELIVERY_RETENTION_DAYS: '7',
      WS_MAX_OPERATIONS_PER_SOCKET: '50',
      WS_MAX_SOCKETS_PER_IDENTITY: '5',
    });
    expect(config).toEqual({
      nodeEnv: 'test',
      port: 8080,
      database: { type: 'mysql', url: 'mysql://app:secret@db:3306/entitlements', queryTimeoutMs: 2500 },
      redisUrl: 'redis://cache:6379',
      eventPollIntervalMs: 1000,
      auth: {
        jwksUrl: 'https://idp.example.com/jwks',
        issuer: 'https://idp.example.com/',
        audience: 'entitlements',
        jwksTimeoutMs: 1500,
        jwksCooldownMs: 30000,
        devKeyFile: '/tmp/key.json',
      },
      defaultTier: 'basic',
      licenseTokens: { signingKeys: [ED_KEY, EC_KEY], issuer: 'https://licenses.example.com' },
      host: '127.0.0.1',
      routerSecret: 's3cret',
      callbackMinHeartbeatMs: 2000,
      callbackMaxSubscriptionsPerIdentity: 20,
      callbackUrlPrefixes: ['http://router:4000/callback/', 'https://router.example.com/cb/'],
      metricsToken: 'scrape-me',
      federationAuthDirectives: false,
      seedCatalog: false,
      logLevel: 'debug',
      webhooks: { allowPrivate: false, retryBaseMs: 250, deliveryRetentionDays: 7 },
      webSockets: { maxOperationsPerSocket: 50, maxSocketsPerIdentity: 5 },
    });
  });

  it('parses sqlite::memory: to the path :memory:', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database).toEqual({
      type: 'better-sqlite3',
      path: ':memory:',
    });
  });

  it('parses sqlite:PATH to that path', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/ent.db' }).database).toEqual({
      type: 'better-sqlite3',
      path: '/var/lib/ent.db',
    });
  });

  it('reads 1 and 0 as true and false', () => {
    expect(loadConfig({ SEED_CATALOG: '0', WEBHOOK_ALLOW_PRIVATE: '1' })).toMatchObject({
      seedCatalog: false,
      webhooks: { allowPrivate: true },
    });
    expect(loadConfig({ SEED_CATALOG: 'true' }).seedCatalog).toBe(true);
  });

  it('accepts the port bounds 0 and 65535', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it('accepts rediss:// URLs', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redisUrl).toBe('rediss://cache:6380');
  });
});

describe('loadConfig errors', () => {
  it('names every bad variable in one ConfigError', () => {
    const error = configError({
      PORT: 'abc',
      DATABASE_URL: 'postgres://x',
      DEFAULT_TIER: 'Bad!',
      WEBHOOK_RETRY_BASE_MS: '0',
      SEED_CATALOG: 'maybe',
    });
    expect(error.name).toBe('ConfigError');
    expect(problemVariables(error)).toEqual([
      'DATABASE_URL',
      'DEFAULT_TIER',
      'PORT',
      'SEED_CATALOG',
      'WEBHOOK_RETRY_BASE_MS',
    ]);
    for (const name of ['PORT', 'DATABASE_URL', 'DEFAULT_TIER', 'WEBHOOK_RETRY_BASE_MS', 'SEED_CATALOG']) {
      expect(error.message).toContain(name);
    }
  });

  it('does not name the variables that are fine', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'warn' });
    expect(problemVariables(error)).toEqual(['PORT']);
    expect(error.message).not.toContain('DATABASE_URL');
  });

  it.each([
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '4001.5'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'sqlite:'],
    ['DATABASE_URL', 'mysql://'],
    ['REDIS_URL', 'http://cache:6379'],
    ['AUTH_JWKS_URL', 'not a url'],
    ['DEFAULT_TIER', '1tier'],
    ['LOG_LEVEL', 'verbose'],
    ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
    ['WEBHOOK_RETRY_BASE_MS', '-5'],
    ['WEBHOOK_RETRY_BASE_MS', '1.5'],
    ['WEBHOOK_RETRY_BASE_MS', '0'],
    ['WEBHOOK_DELIVERY_RETENTION_DAYS', '0'],
    ['WEBHOOK_DELIVERY_RETENTION_DAYS', '3651'],
    ['WS_MAX_OPERATIONS_PER_SOCKET', '0'],
    ['WS_MAX_SOCKETS_PER_IDENTITY', '100001'],
    ['PORT', ' '],
    ['PORT', '0x10'],
    ['AUTH_JWKS_URL', 'ftp://idp.example.com/jwks'],
    ['CALLBACK_MIN_HEARTBEAT_MS', '5'],
    ['CALLBACK_URL_PREFIXES', 'http://router:4000/callback'],
    ['CALLBACK_URL_PREFIXES', 'router:4000/callback/'],
    ['CALLBACK_URL_PREFIXES', 'http://router:4000/callback/, ftp://x/'],
  ])('refuses %s=%s', (name, value) => {
    expect(problemVariables(configError({ [name]: value }))).toEqual([name]);
  });
});

describe('loadConfig in production', () => {
  it('starts with a JWKS URL and a MySQL database, and disallows private webhooks by default', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.nodeEnv).toBe('production');
    expect(config.database.type).toBe('mysql');
    expect(config.webhooks.allowPrivate).toBe(false);
  });

  it('lets private webhooks be allowed explicitly', () => {
    expect(loadConfig({ ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivate).toBe(true);
  });

  it('refuses to start without AUTH_JWKS_URL', () => {
    const { AUTH_JWKS_URL: _omitted, ...env } = PRODUCTION;
    expect(problemVariables(configError(env))).toEqual(['AUTH_JWKS_URL']);
  });

  it.each(['AUTH_ISSUER', 'AUTH_AUDIENCE'])(
    'refuses to start without %s (or with it empty or blank)',
    (name) => {
      const { [name as keyof typeof PRODUCTION]: _omitted, ...env } = PRODUCTION;
      expect(problemVariables(configError(env))).toEqual([name]);
      expect(problemVariables(configError({ ...PRODUCTION, [name]: '' }))).toEqual([name]);
      expect(problemVariables(configError({ ...PRODUCTION, [name]: '  ' }))).toEqual([name]);
    },
  );

  it('refuses an empty AUTH_JWKS_URL as unset', () => {
    expect(problemVariables(configError({ ...PRODUCTION, AUTH_JWKS_URL: '' }))).toEqual(['AUTH_JWKS_URL']);
  });

  it('refuses a sqlite DATABASE_URL', () => {
    const error = configError({ ...PRODUCTION, DATABASE_URL: 'sqlite:./data/prod.sqlite' });
    expect(problemVariables(error)).toEqual(['DATABASE_URL']);
  });

  it('refuses the default (sqlite) database when DATABASE_URL is unset', () => {
    const { DATABASE_URL: _omitted, ...env } = PRODUCTION;
    expect(problemVariables(configError(env))).toEqual(['DATABASE_URL']);
  });

  it('refuses to start without LICENSE_SIGNING_KEYS (a generated key would sit in the database)', () => {
    const { LICENSE_SIGNING_KEYS: _omitted, ...env } = PRODUCTION;
    const error = configError(env);
    expect(problemVariables(error)).toEqual(['LICENSE_SIGNING_KEYS']);
    expect(error.message).toContain('LICENSE_SIGNING_KEYS: is required when NODE_ENV=production');
  });

  it('names every problem at once', () => {
    const error = configError({ NODE_ENV: 'production', DATABASE_URL: 'sqlite::memory:' });
    expect(problemVariables(error)).toEqual([
      'AUTH_AUDIENCE',
      'AUTH_ISSUER',
      'AUTH_JWKS_URL',
      'DATABASE_URL',
      'LICENSE_SIGNING_KEYS',
    ]);
  });
});

describe('LICENSE_SIGNING_KEYS', () => {
  const { d: _private, ...publicHalf } = ED_KEY;
  const other = signingJwk('ed25519', 'other');

  it('takes a JSON array of private EdDSA and ES256 JWKs, in order', () => {
    expect(loadConfig({ LICENSE_SIGNING_KEYS: SIGNING_KEYS }).licenseTokens.signingKeys).toEqual([
      ED_KEY,
      EC_KEY,
    ]);
  });

  it.each<[string, string, string]>([
    ['bad JSON', '[{"kid": ', 'must be a JSON array of private JWKs'],
    ['an object instead of an array', JSON.stringify(ED_KEY), 'must be a JSON array of private JWKs'],
    ['an empty array', '[]', 'must be a JSON array of private JWKs'],
    ['a key without kid', JSON.stringify([{ ...ED_KEY, kid: undefined }]), 'key 1 has no "kid"'],
    ['a public key', JSON.stringify([publicHalf]), 'key "ed-1" is not a private key'],
    ['an unsupported alg', JSON.stringify([{ ...EC_KEY, alg: 'RS256' }]), '"alg" must be EdDSA or ES256'],
    ['HMAC', JSON.stringify([{ kty: 'oct', k: 'c2VjcmV0', kid: 'h', alg: 'HS256' }]), '"alg" must be EdDSA'],
    [
      'an alg that does not fit the key',
      JSON.stringify([{ ...ED_KEY, alg: 'ES256' }]),
      'ES256 needs "kty": "EC"',
    ],
    [
      'a kid used twice',
      JSON.stringify([ED_KEY, { ...EC_KEY, kid: 'ed-1' }]),
      'the kid "ed-1" is used twice',
    ],
    ['halves of two keys', JSON.stringify([{ ...ED_KEY, x: other.x }]), 'key "ed-1" is not a valid key pair'],
  ])('refuses %s, naming the variable and never the key material', (_name, value, message) => {
    const error = configError({ LICENSE_SIGNING_KEYS: value });
    expect(problemVariables(error)).toEqual(['LICENSE_SIGNING_KEYS']);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain(ED_KEY.d);
    expect(error.message).not.toContain(EC_KEY.d);
  });
});
