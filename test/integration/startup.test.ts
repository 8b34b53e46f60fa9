import { request as httpRequest } from 'node:http';

import { migrations } from '../../src/db/migrations';
import { describeOnMysql, openTestDatabase, testDatabaseConfig } from '../testkit/database';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { mintToken, postGraphQL } from '../testkit/server';

describe('start-up', () => {
  it('refuses bad configuration with one message naming every bad variable', async () => {
    const server = spawnServer({ PORT: 'port', DEFAULT_TIER: 'Not A Key', SEED_CATALOG: 'perhaps' });
    expect(await server.exited).toBe(1);
    const message = server.output();
    expect(message).toContain('Invalid configuration');
    for (const variable of ['PORT', 'DEFAULT_TIER', 'SEED_CATALOG'])
      expect(message).toContain(`${variable}:`);
    expect(message.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(message)).toMatchObject({
      level: 60,
      msg: expect.stringContaining('Invalid configuration'),
    });
  });

  it('refuses production without an identity provider', async () => {
    const server = spawnServer({ NODE_ENV: 'production', DATABASE_URL: 'mysql://root@127.0.0.1:3306/test' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('AUTH_JWKS_URL: is required when NODE_ENV=production');
  });

  it('refuses production without license signing keys, with everything else in place', async () => {
    const server = spawnServer({
      NODE_ENV: 'production',
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/test',
      AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://idp.example.com/',
      AUTH_AUDIENCE: 'entitlements',
    });
    expect(await server.exited).toBe(1);
    const [line, ...more] = server.output().trim().split('\n');
    expect(more).toEqual([]);
    expect(JSON.parse(line).msg).toBe(
      'Invalid configuration: LICENSE_SIGNING_KEYS: is required when NODE_ENV=production',
    );
  });

  it('stops with exit 1 and one JSON log line when the database cannot be reached', async () => {
    const server = spawnServer({ DATABASE_URL: 'mysql://root@127.0.0.1:1/test' });
    expect(await server.exited).toBe(1);
    const lines = server
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: 'entitlements subgraph failed to start' });
  });
});

describeOnMysql('two replicas starting at once on an empty MySQL database', () => {
  it('both come up, each migration runs once and the demo catalog is seeded once', async () => {
    const dataSource = await openTestDatabase();
    await dataSource.dropDatabase();
    const { url } = testDatabaseConfig() as { url: string };
    const replicas = [spawnServer({ DATABASE_URL: url }), spawnServer({ DATABASE_URL: url })];
    try {
      const urls = await Promise.all(replicas.map((replica) => waitUntilReady(replica)));
      const token = await mintToken('reader');
      for (const graphqlUrl of urls) {
        expect(
          await postGraphQL(graphqlUrl, '{ tiers { key } }', {}, { authorization: `Bearer ${token}` }),
        ).toEqual({
          data: { tiers: [{ key: 'free' }, { key: 'pro' }, { key: 'enterprise' }] },
        });
      }
      const applied = await dataSource.query('SELECT name FROM migrations ORDER BY id');
      expect(applied.map((row: { name: string }) => row.name)).toEqual(migrations.map((m) => m.name));
      const [{ entries }] = await dataSource.query('SELECT COUNT(*) AS entries FROM tier_entitlements');
      expect(Number(entries)).toBe(12);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await dataSource.destroy();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight on SIGTERM, asking its client to close the connection, then exits 0', async () => {
    const server = spawnServer({ DATABASE_URL: 'sqlite::memory:' });
    const url = new URL(await waitUntilReady(server));
    const token = await mintToken('reader', ['entitlements:read']);
    const body = JSON.stringify({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { tier { key } } } }',
      variables: { r: Array.from({ length: 100 }, (_, i) => ({ __typename: 'User', id: `u${i}` })) },
    });
    // The request is in flight for sure: its body is sent half before the signal and half after.
    const answer = new Promise<{ connection: string | undefined; json: any }>((resolve, reject) => {
      const request = httpRequest(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () =>
            resolve({ connection: response.headers.connection, json: JSON.parse(text) }),
          );
        },
      );
      request.on('error', reject);
      request.write(body.slice(0, 100));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => request.end(body.slice(100)), 200);
      }, 100);
    });
    const { connection, json } = await answer;
    expect(json.errors).toBeUndefined();
    expect(json.data._entities).toHaveLength(100);
    // Asked to close, the client does not send another request on a socket about to close.
    expect(connection).toBe('close');
    const code = await server.exited;
    expect(server.output()).toContain('"msg":"shutting down"');
    expect(code).toBe(0);
  });
});
