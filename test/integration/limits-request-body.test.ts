import { gzipSync } from 'node:zlib';

import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** The request body: at most 1 MiB (also once inflated), and one operation per request (no batches). */

const ONE_MIB = 1024 * 1024;

/** A JSON request body of exactly `bytes` bytes, padded with a variable the operation does not declare. */
function paddedBody(bytes: number): string {
  const bodyWith = (pad: string) => JSON.stringify({ query: '{ __typename }', variables: { pad } });
  const body = bodyWith('x'.repeat(bytes - Buffer.byteLength(bodyWith(''))));
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

describe('request body', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  it('accepts a body of exactly 1 MiB (1,048,576 bytes)', async () => {
    const reply = await post(server.url, paddedBody(ONE_MIB), { token: admin });
    expect(expectAnswered(reply)).toEqual({ __typename: 'Query' });
  });

  it('refuses a body of 1,048,577 bytes with HTTP 413 and a JSON GraphQL error', async () => {
    const reply = await post(server.url, paddedBody(ONE_MIB + 1), { token: admin });
    expect(reply.contentType).toMatch(/^application\/json/);
    expectRefused(reply, 413, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a gzip body that inflates past 1 MiB with HTTP 413', async () => {
    const compressed = gzipSync(paddedBody(ONE_MIB + 1));
    expect(compressed.length).toBeLessThan(ONE_MIB / 100);
    const reply = await send(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${admin}`,
      },
      body: compressed,
    });
    expectRefused(reply, 413, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a batched request (a JSON array) with HTTP 400', async () => {
    const reply = await post(server.url, [{ query: '{ __typename }' }, { query: '{ __typename }' }], {
      token: admin,
    });
    expectRefused(reply, 400, 'BAD_REQUEST');
  });

  it('refuses a batch of one operation with HTTP 400 too', async () => {
    const reply = await post(server.url, [{ query: '{ __typename }' }], { token: admin });
    expectRefused(reply, 400, 'BAD_REQUEST');
  });
});
