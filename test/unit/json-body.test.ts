import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { gzipSync } from 'node:zlib';

import { BodyError, readJsonBody } from '../../src/server/json-body';

/** Request bodies cut off by the client: every read must settle, or its buffers stay for good. */
describe('readJsonBody when the client hangs up mid-body', () => {
  let server: http.Server;
  let port: number;
  let settled: Promise<unknown>;

  beforeEach(async () => {
    let settle!: (outcome: unknown) => void;
    settled = new Promise((resolve) => (settle = resolve));
    server = http.createServer((req, res) => {
      readJsonBody(req).then(settle, settle);
      res.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it.each([
    ['gzip', gzipSync(Buffer.from(JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(4000) })))],
    ['identity', Buffer.from(JSON.stringify({ query: '{ __typename }' }))],
  ])('settles a body cut off mid-way (%s) with a 400 refusal', async (encoding, body) => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const headers = [
      'POST /graphql HTTP/1.1',
      'Host: localhost',
      'Content-Type: application/json',
      `Content-Length: ${body.length}`,
      ...(encoding === 'identity' ? [] : [`Content-Encoding: ${encoding}`]),
    ];
    socket.write(`${headers.join('\r\n')}\r\n\r\n`);
    socket.write(body.subarray(0, body.length - 4));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();

    const outcome = await Promise.race([
      settled,
      new Promise((resolve) => setTimeout(() => resolve('never settled'), 2_000)),
    ]);
    expect(outcome).toBeInstanceOf(BodyError);
    expect((outcome as BodyError).status).toBe(400);
  });
});
