import pino from 'pino';

import { createTestCatalog } from '../testkit/catalog';
import { expectAnswered, expectRefused, post } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** In production the schema stays private (no introspection, no suggestions) and internal errors are masked. */

describe('outside production', () => {
  let server: TestServer;
  let admin: string;
  const gql = (query: string) => post(server.url, { query }, { token: admin });

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  it('still suggests field names (so the production check below can fail)', async () => {
    const reply = await gql('{ feturs { key } }');
    expectRefused(reply, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(reply.body?.errors?.[0].message).toMatch(/Did you mean/);
  });
});

describe('in production', () => {
  let server: TestServer;
  let admin: string;
  const logLines: Record<string, any>[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
    server = await startTestServer({ configOverrides: { nodeEnv: 'production' }, logger });
    await createTestCatalog(server);
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  it.each([
    ['__schema', '{ __schema { types { name } } }'],
    ['__type', '{ __type(name: "User") { fields { name } } }'],
    ['__schema inside a fragment', '{ ...Q } fragment Q on Query { __schema { queryType { name } } }'],
  ])('refuses introspection (%s) with GRAPHQL_VALIDATION_FAILED', async (_name, query) => {
    const reply = await post(server.url, { query }, { token: admin });
    expectRefused(reply, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(reply.text).not.toMatch(/"User"|"Query"|"fields"/);
  });

  it('still answers { _service { sdl } }, without any token', async () => {
    const data = expectAnswered(await post(server.url, { query: '{ _service { sdl } }' }));
    expect(data._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
  });

  it.each([
    ['a misspelled root field', '{ feturs { key } }'],
    ['a misspelled nested field', '{ features { kee } }'],
    ['a misspelled argument', '{ licenseEvents(frist: 1) { hasMore } }'],
    ['a misspelled type condition', '{ features { ... on Featur { key } } }'],
    ['a misspelled enum value', 'mutation { upsertFeature(input: { key: "x", kind: BOOLEN }) { key } }'],
  ])('answers %s without a "Did you mean" suggestion', async (_name, query) => {
    const reply = await post(server.url, { query }, { token: admin });
    expectRefused(reply, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(reply.text).not.toMatch(/did you mean/i);
  });

  // Declared last: the tests above run first, on a whole database.
  describe('when the database fails', () => {
    beforeAll(() => server.dataSource.query('DROP TABLE grants'));

    it('masks the internal error: no message, stack trace or SQL text; logs it with the request id, without bound values', async () => {
      logLines.length = 0;
      const reply = await post(
        server.url,
        {
          query: `query($representations: [_Any!]!) {
            _entities(representations: $representations) { ... on User { id entitlements { source } } }
          }`,
          variables: { representations: [{ __typename: 'User', id: 'victim' }] },
        },
        { token: admin, headers: { 'x-request-id': 'masked-failure' } },
      );
      expect(reply.body?.errors).toHaveLength(1);
      const [error] = reply.body?.errors ?? [];
      expect(error.message).toBe('Internal server error');
      expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(reply.text).not.toMatch(/stacktrace|SELECT|grants|sqlite|no such table|\.ts:\d+/i);
      const logged = logLines.filter((line) => line.msg === 'unexpected error while resolving');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        reqId: 'masked-failure',
        err: { message: expect.stringMatching(/grants/), query: expect.stringMatching(/grants/) },
      });
      // The statement's text, not the values bound to it (the driver's copy of the SQL has them filled in).
      expect(JSON.stringify(logged[0])).not.toMatch(/victim/);
    });
  });
});
