import { createHash } from 'node:crypto';

import type { ServerProcess } from '../testkit/process';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { mintToken } from '../testkit/server';
import { waitUntil } from '../testkit/wait';

/** A server process of its own, so that what it logs can be read. */
let server: ServerProcess;
let url: string;
let token: string;

beforeAll(async () => {
  server = spawnServer({ DATABASE_URL: 'sqlite::memory:', NODE_ENV: 'test' });
  url = await waitUntilReady(server);
  token = await mintToken('reader', ['entitlements:read']);
});
afterAll(() => server.stop());

/** The log lines written since `mark` (an offset into the output). */
function linesSince(mark: number): { level: number; msg: string; statusCode?: number }[] {
  return server
    .output()
    .slice(mark)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function post(body: string, contentType: string): Promise<{ status: number; type: string; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
    body,
  });
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, type, json: type.includes('json') ? await response.json() : null };
}

/** The lines since `mark`, once the access line of a response with `statusCode` is among them. */
async function linesUntilAnswered(mark: number, statusCode: number) {
  await waitUntil(() => linesSince(mark).some((line) => line.statusCode === statusCode), {
    what: `the access line of a ${statusCode}`,
  });
  return linesSince(mark);
}

describe('a malformed request', () => {
  it('with a charset the JSON parser does not read gets a GraphQL-shaped 415, not an HTML page', async () => {
    const answer = await post('{"query":"{ __typename }"}', 'application/json; charset=latin1');
    expect(answer.status).toBe(415);
    expect(answer.type).toContain('application/json');
    expect(answer.json).toEqual({
      errors: [{ message: expect.stringContaining('UTF-8'), extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('with a persisted-query hash that does not match its text gets PERSISTED_QUERY_HASH_MISMATCH, logged as no error', async () => {
    const query = '{ __typename }';
    const mark = server.output().length;
    const answer = await post(
      JSON.stringify({
        query,
        extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
      }),
      'application/json',
    );
    expect(answer.status).toBe(400);
    expect(answer.json.errors).toEqual([
      {
        message: 'provided sha does not match query',
        extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' },
      },
    ]);
    const lines = await linesUntilAnswered(mark, 400);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.filter((line) => line.statusCode === 400)).toMatchObject([{ msg: 'request completed' }]);

    // The right hash still registers and runs the query.
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const registered = await post(
      JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
      'application/json',
    );
    expect(registered.json).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('the access log', () => {
  it('stays quiet for the probes however their path is spelled, as they are routed', async () => {
    const mark = server.output().length;
    const base = new URL(url).origin;
    for (const path of ['/healthz', '/HEALTHZ', '/healthz/', '/ReadyZ', '/readyz/?probe=1']) {
      expect((await fetch(`${base}${path}`)).status).toBe(200);
    }
    expect((await fetch(`${base}/healthz-not`)).status).toBe(404);
    const lines = await linesUntilAnswered(mark, 404);
    const paths = lines
      .filter((line) => line.msg === 'request completed')
      .map((line) => (line as { path?: string }).path)
      .filter((path) => path !== '/graphql'); // an earlier test's request may finish after the mark
    expect(paths).toEqual(['/healthz-not']);
  });
});
