import type { Server } from 'node:net';
import { createServer } from 'node:net';

import { onMysql, testDatabaseConfig } from '../testkit/database';
import type { ServerProcess } from '../testkit/process';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { mintToken, postGraphQL } from '../testkit/server';

/** The test database in a child's terms: MySQL keeps a pool open, which once made a failed start hang. */
const DATABASE_URL = onMysql ? (testDatabaseConfig() as { url: string }).url : 'sqlite::memory:';

function listenOn(port: number, host?: string): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** The last line the process wrote, parsed. */
function lastLine(server: ServerProcess): { level: number; msg: string } {
  return JSON.parse(server.output().trim().split('\n').at(-1)!);
}

describe('the listen address', () => {
  it('fails with exit code 1 and says so when the port is taken', async () => {
    const holder = await listenOn(0);
    const { port } = holder.address() as { port: number };
    try {
      const server = spawnServer({ DATABASE_URL, PORT: String(port) });
      expect(await server.exited).toBe(1);
      expect(lastLine(server)).toMatchObject({ level: 60, msg: `port ${port} is already in use` });
      expect(server.output()).not.toMatch(/websocket/i);
    } finally {
      await close(holder);
    }
  });

  it('fails with exit code 1 and says so when the port needs privileges', async () => {
    // As root every port may be bound: the server then runs as `nobody`, which may not bind port 80.
    const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const server = spawnServer(
      // `nobody` cannot read the test signing key; an identity provider is configured instead (read lazily).
      { DATABASE_URL, PORT: '80', AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' },
      unprivileged,
    );
    expect(await server.exited).toBe(1);
    expect(lastLine(server)).toMatchObject({ level: 60, msg: 'permission denied to listen on port 80' });
  });

  it('listens on HOST only, when set', async () => {
    const probe = await listenOn(0, '127.0.0.1');
    const { port } = probe.address() as { port: number };
    await close(probe);
    const server = spawnServer({ DATABASE_URL, PORT: String(port), HOST: '127.0.0.1' });
    try {
      const url = await waitUntilReady(server);
      expect(url).toBe(`http://127.0.0.1:${port}/graphql`);
      const token = await mintToken('reader');
      expect(await postGraphQL(url, '{ __typename }', {}, { authorization: `Bearer ${token}` })).toEqual({
        data: { __typename: 'Query' },
      });
      // Another loopback address keeps the port free: the server did not take every interface.
      await close(await listenOn(port, '127.0.0.2'));
    } finally {
      await server.stop();
    }
  });
});
