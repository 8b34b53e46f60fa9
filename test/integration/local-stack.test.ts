import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parse as parseYaml } from 'yaml';

import { CONFIG_VARIABLES, loadConfig } from '../../src/config';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startUsersSubgraph } = require('../../examples/users-subgraph/server.js');

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/**
 * No Docker engine runs where the tests run, so the local stack is checked by reading it: what the compose
 * file sets must be what the code accepts, and the addresses must agree with each other and the supergraph.
 */
describe('the local stack (docker-compose.yml, gateway.config.ts, router.yaml, Dockerfile)', () => {
  const compose = parseYaml(read('docker-compose.yml'));
  const router = parseYaml(read('router.yaml'));
  const supergraph = read('supergraph.graphql');
  const services = compose.services;

  it('runs MySQL 8, Redis, two replicas of the subgraph, the users subgraph and Hive Gateway by default', () => {
    expect(Object.keys(services).sort()).toEqual([
      'entitlements',
      'gateway',
      'mysql',
      'redis',
      'router',
      'users',
    ]);
    const byDefault = Object.keys(services).filter((name) => !services[name].profiles);
    expect(byDefault.sort()).toEqual(['entitlements', 'gateway', 'mysql', 'redis', 'users']);
    expect(services.mysql.image).toMatch(/^mysql:8/);
    expect(services.redis.image).toMatch(/^redis:/);
    expect(services.entitlements.build).toBe('.');
    expect(services.entitlements.deploy.replicas).toBe(2);
    // The gateway version test/e2e/hive-gateway.test.ts runs with the same config file.
    const { version } = JSON.parse(read('node_modules/@graphql-hive/gateway/package.json'));
    expect(services.gateway.image).toBe(`ghcr.io/graphql-hive/gateway:${version}`);
  });

  it('runs Apollo Router only with the apollo-router profile, passing the GraphOS key it needs', () => {
    expect(services.router.profiles).toEqual(['apollo-router']);
    expect(services.router.image).toMatch(/^ghcr\.io\/apollographql\/router:v2\./);
    expect(services.router.environment).toEqual({
      APOLLO_KEY: '${APOLLO_KEY:-}',
      APOLLO_GRAPH_REF: '${APOLLO_GRAPH_REF:-}',
    });
  });

  it('sets only variables the subgraph reads, with values its configuration accepts', () => {
    const env = services.entitlements.environment as Record<string, string>;
    for (const name of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(name);
    const config = loadConfig(env);
    expect(config.database).toMatchObject({
      type: 'mysql',
      url: 'mysql://entitlements:entitlements@mysql:3306/entitlements',
    });
    const mysqlEnv = services.mysql.environment;
    expect(config.database.type === 'mysql' && new URL(config.database.url)).toMatchObject({
      username: mysqlEnv.MYSQL_USER,
      password: mysqlEnv.MYSQL_PASSWORD,
      pathname: `/${mysqlEnv.MYSQL_DATABASE}`,
      hostname: 'mysql',
    });
    expect(config.redisUrl).toBe('redis://redis:6379');
    // Both replicas keep their development key on one shared volume.
    expect(services.entitlements.volumes).toContain('dev-keys:/app/data');
    expect(config.auth.devKeyFile.startsWith('/app/data/')).toBe(true);
  });

  it('agrees on ports and addresses between compose, gateway.config.ts and the supergraph', () => {
    const port = services.entitlements.environment.PORT;
    const entitlementsUrl = `http://entitlements:${port}/graphql`;
    const usersUrl = `http://users:${services.users.environment.PORT}/graphql`;
    const jwksUrl = `http://entitlements:${port}/.well-known/jwks.json`;
    expect(services.entitlements.expose).toContain(port);
    expect(services.users.expose).toContain(services.users.environment.PORT);
    expect(supergraph).toContain(`url: "${entitlementsUrl}"`);
    expect(supergraph).toContain(`url: "${usersUrl}"`);
    expect(services.users.environment.JWKS_URL).toBe(jwksUrl);

    const gateway = services.gateway;
    expect(gateway.environment).toEqual({
      PORT: '4000',
      ENTITLEMENTS_URL: entitlementsUrl,
      USERS_URL: usersUrl,
      JWKS_URL: jwksUrl,
    });
    expect(gateway.ports).toEqual([`${gateway.environment.PORT}:${gateway.environment.PORT}`]);
    // The config read with the compose environment, and with none (its defaults are the same addresses).
    for (const env of [gateway.environment, {}]) {
      const config = gatewayConfigWith(env);
      expect(config.transportEntries.entitlements.location).toBe(entitlementsUrl);
      expect(config.transportEntries.entitlements.options.subscriptions).toMatchObject({
        kind: 'ws',
        location: entitlementsUrl,
      });
      expect(config.transportEntries.users.location).toBe(usersUrl);
    }
    expect(gateway.depends_on).toEqual({
      entitlements: { condition: 'service_healthy' },
      users: { condition: 'service_healthy' },
    });
  });

  it('mounts the gateway config and the supergraph where Hive Gateway reads them', () => {
    expect(services.gateway.command).toEqual(['supergraph']);
    expect(services.gateway.volumes).toEqual([
      './gateway.config.ts:/gateway/gateway.config.ts:ro',
      './supergraph.graphql:/gateway/supergraph.graphql:ro',
    ]);
    expect(gatewayConfigWith({}).supergraph).toBe('./supergraph.graphql');
  });

  it('agrees on ports and addresses between compose, router.yaml and the supergraph', () => {
    const port = services.entitlements.environment.PORT;
    const listen = router.supergraph.listen as string;
    expect(services.router.ports).toContain(`${listen.split(':')[1]}:${listen.split(':')[1]}`);
    expect(router.authentication.router.jwt.jwks[0].url).toBe(
      `http://entitlements:${port}/.well-known/jwks.json`,
    );
    expect(router.subscription.mode.passthrough.subgraphs.entitlements).toEqual({
      path: '/graphql',
      protocol: 'graphql_ws',
    });
    expect(router.headers.all.request).toContainEqual({ propagate: { named: 'authorization' } });
  });

  it('mounts files that exist', () => {
    for (const volume of [...services.router.volumes, ...services.gateway.volumes] as string[]) {
      const [source] = volume.split(':');
      expect(existsSync(join(ROOT, source))).toBe(true);
    }
    expect(services.router.command).toEqual([
      '--config',
      '/config/router.yaml',
      '--supergraph',
      '/config/supergraph.graphql',
    ]);
  });

  it('builds a small, non-root image with production dependencies and a readiness check', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
    expect(dockerfile).toContain('COPY --chown=node:node examples ./examples');
  });

  it('runs on a maintained Node LTS (22 or 24; Node 20 is past its end of life)', () => {
    const images = [...read('Dockerfile').matchAll(/^FROM (node:\S+)/gm)].map(([, image]) => image);
    expect(images.length).toBeGreaterThanOrEqual(2);
    for (const image of images) expect(image).toMatch(/^node:(22|24)-(bookworm-slim|alpine)$/);
  });

  describe('the users service health check', () => {
    const [, command, ...args] = services.users.healthcheck.test as string[];
    const healthCheck = (port: number) =>
      promisify(execFile)(process.execPath, args, { env: { PORT: String(port) } }).then(
        () => 'healthy',
        () => 'unhealthy',
      );

    it('passes on a users subgraph that answers a query', async () => {
      expect(command).toBe('node');
      const users = await startUsersSubgraph({ port: 0, count: 1 });
      try {
        expect(await healthCheck(Number(new URL(users.url).port))).toBe('healthy');
      } finally {
        await users.stop();
      }
    });

    it('fails on a server that answers 400, and on nothing listening', async () => {
      const server = createServer((_req, res) => res.writeHead(400).end('{"errors":[]}'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        expect(await healthCheck(port)).toBe('unhealthy');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      expect(await healthCheck(port)).toBe('unhealthy');
    });
  });
});

/** gateway.config.ts's configuration, loaded with `env` as the environment it reads. */
function gatewayConfigWith(env: Record<string, string>): any {
  const saved = { ...process.env };
  for (const name of ['ENTITLEMENTS_URL', 'USERS_URL', 'JWKS_URL']) delete process.env[name];
  Object.assign(process.env, env);
  try {
    let config: any;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      config = require('../../gateway.config').gatewayConfig;
    });
    return config;
  } finally {
    process.env = saved;
  }
}
