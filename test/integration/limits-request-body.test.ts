import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';

import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** The request body: at most 1 MiB (also once inflated), and one operation per request (no batches). */

const ONE_MIB = 1024 * 1024;

/** What a request heard, possibly while its body was still being sent, and how much it had sent by then. */
interface EarlyAnswer {
  status: number;
  connection: string | undefined;
  code: string;
  sentBytes: number;
}

/** A POST of JSON with a bearer token; `answer` settles when its answer is in (the request is dropped then). */
function postJson(url: string, token: string, headers: Record<string, string>) {
  const req = request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
  });
  let sentBytes = 0;
  let answered = false;
  const answer = new Promise<EarlyAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        const code = JSON.parse(text).errors[0].extensions.code as string;
        resolve({ status: res.statusCode!, connection: res.headers.connection, code, sentBytes });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
  });
  /** Writes `chunk` unless the answer is in; false when the socket wants a 'drain' first. */
  const write = (chunk: Buffer) => {
    if (answered || req.destroyed) return true;
    sentBytes += chunk.length;
    return req.write(chunk);
  };
  return { req, answer, write, answered: () => answered || req.destroyed };
}

/** POSTs a JSON body that never ends: 64 KiB chunks for as long as the server reads them. */
function postEndlessBody(url: string, token: string, chunked: boolean): Promise<EarlyAnswer> {
  // A declared length far past the limit is refused before the body is read; a chunked one as it is.
  const post = postJson(url, token, chunked ? {} : { 'content-length': String(1024 * ONE_MIB) });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = () => {
    while (!post.answered()) if (!post.write(chunk)) return void post.req.once('drain', pump);
  };
  post.write(Buffer.from('{"query":"{ __typename }","variables":{"pad":"'));
  pump();
  return post.answer;
}

/** POSTs `body` in 64 KiB pieces a few milliseconds apart, so that the server refuses it while it still arrives. */
function postInPieces(url: string, token: string, headers: Record<string, string>, body: Buffer) {
  const post = postJson(url, token, { 'content-length': String(body.length), ...headers });
  let offset = 0;
  const next = () => {
    if (post.answered()) return;
    if (offset >= body.length) return void post.req.end();
    post.write(body.subarray(offset, (offset += 64 * 1024)));
    setTimeout(next, 2);
  };
  next();
  return post.answer;
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
    expect(reply).toMatchObject({ status: 413, connection: 'close', code: 'GRAPHQL_VALIDATION_FAILED' });
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

  it('refuses a gzip body of more than 1 MiB as sent, however little it inflates to, with HTTP 413', async () => {
    // Empty deflate blocks (5 bytes each) before the JSON: 1.2 MB that inflate to nothing.
    const json = Buffer.from(JSON.stringify({ query: '{ __typename }' }));
    const emptyBlocks = Buffer.alloc(240_000 * 5);
    for (let at = 0; at < emptyBlocks.length; at += 5) emptyBlocks.set([0x00, 0x00, 0x00, 0xff, 0xff], at);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(json), 0);
    trailer.writeUInt32LE(json.length, 4);
    const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
    const body = Buffer.concat([header, emptyBlocks, deflateRawSync(json), trailer]);
    expect(gunzipSync(body)).toEqual(json);
    const reply = await postInPieces(server.url, admin, { 'content-encoding': 'gzip' }, body);
    expect(reply).toMatchObject({ status: 413, code: 'GRAPHQL_VALIDATION_FAILED' });
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
    expect(inflatesTooFar).toMatchObject({ status: 413, code: 'GRAPHQL_VALIDATION_FAILED' });
    const notGzip = await postInPieces(
      server.url,
      admin,
      { 'content-encoding': 'gzip' },
      randomBytes(2 * ONE_MIB),
    );
    expect(notGzip).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
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
