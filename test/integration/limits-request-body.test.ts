import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';

import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** The request body: at most 1 MiB (also once inflated), and one operation per request (no batches). */

const ONE_MIB = 1024 * 1024;

/**
 * POSTs a JSON body that never ends (64 KiB chunks for as long as the server reads them): the answer's
 * status and Connection header, and how much had been sent when it came.
 */
function postEndlessBody(url: string, token: string, chunked: boolean) {
  return new Promise<{ status: number; connection: string | undefined; sentBytes: number; body: string }>(
    (resolve, reject) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sentBytes = 0;
      let answered = false;
      const req = request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          // A declared length far past the limit is refused before the body is read; a chunked one as it is.
          ...(chunked ? {} : { 'content-length': String(1024 * ONE_MIB) }),
        },
      });
      const pump = () => {
        while (!answered && !req.destroyed) {
          sentBytes += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      req.write('{"query":"{ __typename }","variables":{"pad":"');
      pump();
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => (body += text));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, connection: res.headers.connection, sentBytes, body });
        });
      });
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
    },
  );
}

/** POSTs `body` in 64 KiB pieces a few milliseconds apart, so that the server refuses it while it still arrives. */
function postInPieces(url: string, token: string, headers: Record<string, string>, body: Buffer) {
  return new Promise<{ status: number; code: string }>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        authorization: `Bearer ${token}`,
        ...headers,
      },
    });
    let offset = 0;
    let answered = false;
    const next = () => {
      if (answered || req.destroyed) return;
      if (offset >= body.length) return void req.end();
      req.write(body.subarray(offset, (offset += 64 * 1024)));
      setTimeout(next, 2);
    };
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, code: JSON.parse(text).errors[0].extensions.code });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    next();
  });
}

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

  it.each([
    ['chunked', true],
    ['with a Content-Length past the limit', false],
  ])('answers a body that never ends (%s) with 413 and closes the connection', async (_name, chunked) => {
    const reply = await postEndlessBody(server.url, admin, chunked);
    expect(reply.status).toBe(413);
    expect(reply.connection).toBe('close');
    expect(JSON.parse(reply.body).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // The server stops reading after about 2 MiB; the rest is what the sockets' buffers took.
    expect(reply.sentBytes).toBeLessThan(64 * ONE_MIB);
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

  it('answers a gzip body refused while it still arrives: 413 past 1 MiB inflated, 400 when it is not gzip', async () => {
    // Random text compresses about half: 3 MiB of JSON is still being sent when its first MiB inflates.
    const json = Buffer.from(
      JSON.stringify({
        query: '{ __typename }',
        variables: { pad: randomBytes(1.5 * ONE_MIB).toString('hex') },
      }),
    );
    const inflatesTooFar = await postInPieces(
      server.url,
      admin,
      { 'content-encoding': 'gzip' },
      gzipSync(json),
    );
    expect(inflatesTooFar).toEqual({ status: 413, code: 'GRAPHQL_VALIDATION_FAILED' });
    const notGzip = await postInPieces(
      server.url,
      admin,
      { 'content-encoding': 'gzip' },
      randomBytes(2 * ONE_MIB),
    );
    expect(notGzip).toEqual({ status: 400, code: 'BAD_REQUEST' });
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
