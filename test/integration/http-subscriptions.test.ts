import pino from 'pino';

import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

/** A client that sends a subscription as an ordinary GraphQL POST, without the router's callback extension. */
describe('a subscription over plain HTTP', () => {
  let server: TestServer;
  const logLines: { level: number; msg: string; err?: unknown }[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
    server = await startTestServer({ seedCatalog: false, logger });
  });
  afterAll(() => server.stop());

  it('is refused with 400 and BAD_REQUEST naming the transports that carry subscriptions', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await server.token('reader', ['entitlements:read'])}`,
      },
      body: JSON.stringify({ query: 'subscription { licenseEvents { id } }' }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: object }[] };
    expect(response.status).toBe(400);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(body.errors[0].message).toContain('graphql-ws (ws://HOST:PORT/graphql');
    expect(body.errors[0].message).toContain("the router's HTTP callback protocol");
  });

  it('is logged as a client error: an info access-log line with its status, no error and no stack', async () => {
    logLines.length = 0;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription Live { licenseEvents { id } }', operationName: 'Live' }),
    });
    // Read to the end: the access-log line is written once the response has been sent.
    expect((await response.json()) as object).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST' } }],
    });
    const level = { info: 30, error: 50 };
    expect(logLines.filter((line) => line.level >= level.error)).toEqual([]);
    expect(logLines).toContainEqual(
      expect.objectContaining({ level: level.info, statusCode: 400, operationName: 'Live' }),
    );
  });
});
