import { createConnection } from 'mysql2/promise';

import { onMysql } from '../testkit/database';
import { canRunOwnMariaDb, TestMariaDb } from '../testkit/mariadb-server';
import type { ServerProcess } from '../testkit/process';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { mintToken, postGraphQL } from '../testkit/server';
import { waitUntil } from '../testkit/wait';

jest.setTimeout(180_000);

const GRANT = `mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id } }`;
const READ = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { tier { key } entitlements { feature { key } } } } }`;

interface Outcome {
  phase: 'up' | 'down' | 'back';
  grantId?: string;
  error?: { message: string; code: unknown };
}

/**
 * The database is killed (SIGKILL) under steady load and started again: the subgraph stays up, says the
 * database is unavailable, reports not ready, recovers without a restart, and loses no reported success.
 * Runs with the MySQL suite (it starts a MariaDB of its own, so it does not touch TEST_DATABASE_URL).
 */
(onMysql && canRunOwnMariaDb ? describe : describe.skip)('a database outage under load', () => {
  let mariadb: TestMariaDb;
  let server: ServerProcess;
  const servers: ServerProcess[] = [];
  const start = (env: NodeJS.ProcessEnv) => {
    server = spawnServer(env);
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    mariadb = await TestMariaDb.start('outage');
  });
  // Also when a test failed midway: a server left running would keep Jest from exiting.
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((child) => child.stop()));
  });
  afterAll(async () => {
    await mariadb?.destroy();
  });

  it('is survived, reported and recovered from, with every reported change kept', async () => {
    start({ DATABASE_URL: mariadb.url('outage'), LOG_LEVEL: 'info' });
    const url = await waitUntilReady(server);
    const base = url.replace(/\/graphql$/, '');
    const headers = { authorization: `Bearer ${await mintToken('admin', ['entitlements:write'])}` };
    const readiness = async () => {
      const response = await fetch(`${base}/readyz`);
      return { status: response.status, body: (await response.json()) as any };
    };

    let phase: Outcome['phase'] = 'up';
    let running = true;
    const outcomes: Outcome[] = [];
    const worker = async (id: number) => {
      for (let i = 0; running; i += 1) {
        const response = await postGraphQL<any>(
          url,
          GRANT,
          { input: { userId: `outage-${id}`, feature: 'sso', reason: `call ${i}` } },
          headers,
        );
        const error = response.errors?.[0];
        outcomes.push(
          error
            ? { phase, error: { message: error.message, code: error.extensions?.code } }
            : { phase, grantId: response.data.grantEntitlement.id },
        );
        await postGraphQL<any>(url, READ, { r: [{ __typename: 'User', id: `outage-${id}` }] }, headers);
        if (error) await sleep(50);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));

    await sleep(1500);
    await mariadb.kill();
    phase = 'down';
    await waitUntil(async () => (await readiness()).status === 503, { timeoutMs: 15_000 });
    expect((await readiness()).body).toEqual({ status: 'not ready', checks: { database: false } });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await sleep(1500);

    await mariadb.start();
    await waitUntil(async () => (await readiness()).status === 200, { timeoutMs: 30_000 });
    phase = 'back';
    // Requests succeed again without a restart: ten in a row. (Some may still fail on the way, e.g. waiting on a
    // row lock that crash recovery has not released yet; they fail with the same clear error.)
    const recovered = async () => {
      const back = outcomes.filter((outcome) => outcome.phase === 'back');
      return back.length >= 10 && back.slice(-10).every((outcome) => outcome.grantId);
    };
    const recoveredInTime = await waitUntil(recovered, { timeoutMs: 30_000 }).then(
      () => true,
      () => false,
    );
    running = false;
    await within(60_000, load, 'the load to finish', server);

    const during = outcomes.filter((outcome) => outcome.phase === 'down');
    expect(outcomes.filter((o) => o.phase === 'up' && o.grantId).length).toBeGreaterThan(10);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((outcome) => outcome.error)).not.toHaveLength(0);
    for (const { error } of during.filter((outcome) => outcome.error)) {
      expect(error).toEqual({
        message: 'The database is unavailable; try again shortly',
        code: 'INTERNAL_SERVER_ERROR',
      });
    }
    expect(recoveredInTime).toBe(true);
    for (const { error } of outcomes.filter((outcome) => outcome.phase === 'back' && outcome.error)) {
      expect(error).toEqual({
        message: 'The database is unavailable; try again shortly',
        code: 'INTERNAL_SERVER_ERROR',
      });
    }

    // Every change that was reported as done is in the database.
    const reported = outcomes.flatMap((outcome) => (outcome.grantId ? [outcome.grantId] : []));
    const connection = await createConnection(mariadb.url('outage'));
    const [rows] = await connection.query('SELECT id FROM grants');
    await connection.end();
    const stored = new Set((rows as { id: string }[]).map((row) => row.id));
    expect(reported.filter((id) => !stored.has(id))).toEqual([]);

    // No connection is left lent out once the load stops.
    await waitUntil(
      async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text();
        return /^db_pool_connections_in_use 0$/m.test(metrics);
      },
      { timeoutMs: 15_000 },
    );
    expect(server.child.exitCode).toBeNull();
    expect(await server.stop()).toBe(0);
  });

  it('fails requests instead of hanging them while the database does not answer', async () => {
    start({
      DATABASE_URL: mariadb.url('outage'),
      LOG_LEVEL: 'info',
      DATABASE_QUERY_TIMEOUT_MS: '1000',
    });
    const url = await waitUntilReady(server);
    const headers = { authorization: `Bearer ${await mintToken('admin', ['entitlements:write'])}` };
    const grant = () =>
      postGraphQL<any>(url, GRANT, { input: { userId: 'frozen', feature: 'sso' } }, headers);
    expect((await grant()).errors).toBeUndefined();

    mariadb.pause();
    const answers: any[] = [];
    try {
      // One after another: a connection whose statement timed out must not hold up the next request.
      const read = () => postGraphQL<any>(url, READ, { r: [{ __typename: 'User', id: 'frozen' }] }, headers);
      for (const [i, request] of [read, read, grant, read].entries()) {
        answers.push(await within(20_000, request(), `request ${i + 1}`, server));
      }
    } finally {
      mariadb.resume();
    }
    // The answers came while the server was frozen: they were not held until the database woke up.
    for (const answered of answers) {
      expect(answered.errors?.[0]).toMatchObject({
        message: 'The database is unavailable; try again shortly',
        extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'DATABASE_UNAVAILABLE' },
      });
    }
    await waitUntil(async () => (await grant()).errors === undefined, { timeoutMs: 30_000 });
    expect(await server.stop()).toBe(0);
  });
});

/** Fails with the server's last log lines, rather than timing the whole test out, when `work` hangs. */
async function within<T>(ms: number, work: Promise<T>, what: string, child: ServerProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const tail = child.output().split('\n').slice(-40).join('\n');
      reject(new Error(`waited ${ms} ms for ${what}; server output:\n${tail}`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
