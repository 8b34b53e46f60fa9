import { brotliCompressSync, deflateSync } from 'node:zlib';

import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

/** The HTTP routes as Express served them: paths, methods and request bodies. */
describe('HTTP routes', () => {
  let server: TestServer;
  let base: string;
  const typename = JSON.stringify({ query: '{ __typename }' });

  beforeAll(async () => {
    server = await startTestServer({ seedCatalog: false });
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(() => server.stop());

  it('answers an unknown path, or a method a path does not serve, with 404', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/graphq'],
      ['GET', '/scim'],
      ['POST', '/healthz'],
    ]) {
      const reply = await send(`${base}${path}`, { method });
      expect({ method, path, status: reply.status }).toEqual({ method, path, status: 404 });
    }
  });

  it('serves GET endpoints in any case and with a trailing slash, HEAD without a body, OPTIONS with Allow', async () => {
    expect((await send(`${base}/HealthZ/`)).body).toEqual({ status: 'ok' });
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('{"status":"ok"}'.length));
    expect(await head.text()).toBe('');
    const options = await fetch(`${base}/.well-known/jwks.json`, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves GraphQL at /graphql and /graphql/, with every response naming its request id', async () => {
    const answer = await fetch(`${base}/graphql/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'slash-1' },
      body: typename,
    });
    expect(await answer.json()).toEqual({ data: { __typename: 'Query' } });
    expect(answer.headers.get('x-request-id')).toBe('slash-1');
  });

  it.each([
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('reads a %s body', async (encoding, compress) => {
    const reply = await send(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body: compress(typename),
    });
    expect(expectAnswered(reply)).toEqual({ __typename: 'Query' });
  });

  it('reads a body with a byte order mark, and a charset given in upper case', async () => {
    const reply = await post(server.url, `\ufeff${typename}`, {
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    });
    expect(expectAnswered(reply)).toEqual({ __typename: 'Query' });
  });

  it.each([
    ['an unknown content encoding', { 'content-encoding': 'compress' }, typename, 415],
    ['a gzip header on a body that is not gzip', { 'content-encoding': 'gzip' }, typename, 400],
    ['malformed JSON', {}, '{"query":', 400],
    ['a JSON string', {}, '"{ __typename }"', 400],
  ])('refuses %s with a GraphQL-shaped error', async (_name, headers, body, status) => {
    const reply = await post(server.url, body, { headers });
    expectRefused(reply, status, 'BAD_REQUEST');
  });

  it('hands an empty body to Apollo Server, which asks for a query', async () => {
    const reply = await post(server.url, '');
    expectRefused(reply, 400, 'BAD_REQUEST');
    expect(reply.body?.errors?.[0].message).toMatch(/POST body missing/);
  });
});
