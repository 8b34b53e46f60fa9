import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { CONFIG_VARIABLES, loadConfig } from '../../src/config';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/**
 * No Docker engine runs where the tests run, so the local stack is checked by reading it: what the compose
 * file sets must be what the code accepts, and the addresses must agree with each other and the supergraph.
 */
describe('the local stack (docker-compose.yml, router.yaml, Dockerfile)', () => {
  const compose = parseYaml(read('docker-compose.yml'));
  const router = parseYaml(read('router.yaml'));
  const supergraph = read('supergraph.graphql');
  const services = compose.services;

  it('runs MySQL 8, Redis, two replicas of the subgraph, the users subgraph and Apollo Router', () => {
    expect(Object.keys(services).sort()).toEqual(['entitlements', 'mysql', 'redis', 'router', 'users']);
    expect(services.mysql.image).toMatch(/^mysql:8/);
    expect(services.redis.image).toMatch(/^redis:/);
    expect(services.entitlements.build).toBe('.');
    expect(services.entitlements.deploy.replicas).toBe(2);
    expect(services.router.image).toMatch(/^ghcr\.io\/apollographql\/router:v2\./);
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

  it('agrees on ports and addresses between compose, router.yaml and the supergraph', () => {
    const port = services.entitlements.environment.PORT;
    expect(services.entitlements.expose).toContain(port);
    expect(supergraph).toContain(`url: "http://entitlements:${port}/graphql"`);
    expect(supergraph).toContain(`url: "http://users:${services.users.environment.PORT}/graphql"`);
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
    for (const volume of services.router.volumes as string[]) {
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
});
