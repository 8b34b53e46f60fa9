import { gzipSync } from 'node:zlib';

import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { Lexer, Source, TokenKind, parse, specifiedRules, validate } from 'graphql';
import type { GraphQLSchema, ValidationRule } from 'graphql';

import { QUERY_LIMITS } from '../../src/graphql/limits';
import { buildSubgraph } from '../../src/graphql/schema';
import { createTestCatalog } from '../testkit/catalog';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';
import type { GraphQLResponse, TestServer } from '../testkit/server';

/**
 * Issue 3, point 6 ("Hardening"): every limit just under and just over its bound, the
 * GHSA-hmfr-rx46-4jx2 depth bypass, body size, batching, CSRF, ROUTER_SECRET and production masking.
 *
 * Every crafted query is first measured with the same graphql-armor rules and graphql-js lexer the server
 * uses, so each test states (and checks) exactly where it sits relative to the bound.
 */

const ONE_MIB = 1024 * 1024;

let schema: GraphQLSchema;

beforeAll(async () => {
  schema = await buildSubgraph();
});

// ---------------------------------------------------------------------------------------------------------
// Measuring documents as the server's rules do

interface Profile {
  tokens: number;
  depth: number;
  aliases: number;
  directives: number;
  cost: number;
}

const LIMIT_OF: Profile = {
  tokens: QUERY_LIMITS.maxTokens,
  depth: QUERY_LIMITS.maxDepth,
  aliases: QUERY_LIMITS.maxAliases,
  directives: QUERY_LIMITS.maxDirectives,
  cost: QUERY_LIMITS.maxCost,
};

/** Lexical tokens as graphql-js counts them for `maxTokens`: everything but <SOF> and <EOF>. */
function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count += 1;
  return count;
}

/**
 * The document's size by every measure the server limits. It must be valid against the real schema, so
 * that nothing but a limit can refuse it.
 */
function profile(document: string): Profile {
  const found: Partial<Profile> = {};
  const record = (key: keyof Profile) => [
    (_context: unknown, details: { n: number }) => {
      found[key] = details.n;
    },
  ];
  const measuring = [
    maxDepthRule({
      n: Infinity,
      ignoreIntrospection: true,
      flattenFragments: true,
      onAccept: record('depth'),
    }),
    maxAliasesRule({ n: Infinity, onAccept: record('aliases') }),
    maxDirectivesRule({ n: Infinity, onAccept: record('directives') }),
    costLimitRule({ maxCost: Infinity, flattenFragments: true, onAccept: record('cost') }),
  ] as ValidationRule[];
  const errors = validate(schema, parse(document), [...specifiedRules, ...measuring]);
  expect(errors.map((error) => error.message)).toEqual([]);
  return { tokens: tokenCount(document), ...found } as Profile;
}

/** Checks that `document` measures exactly `value` by `measure`, and is within every other limit. */
function expectMeasure(document: string, measure: keyof Profile, value: number): void {
  const measured = profile(document);
  expect({ [measure]: measured[measure] }).toEqual({ [measure]: value });
  for (const other of Object.keys(LIMIT_OF) as (keyof Profile)[]) {
    if (other !== measure) expect({ [other]: measured[other] <= LIMIT_OF[other] }).toEqual({ [other]: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP without the test kit's conveniences: the status and the raw body matter here

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
  body: GraphQLResponse | undefined;
}

async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: GraphQLResponse | undefined;
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, body };
}

function post(
  url: string,
  payload: unknown,
  options: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return send(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

/** Answered: HTTP 200 and no error at all. */
function expectAnswered(reply: Reply): Record<string, any> {
  expect({ status: reply.status, errors: reply.body?.errors }).toEqual({ status: 200, errors: undefined });
  return reply.body?.data as Record<string, any>;
}

/** Refused before execution: the given status, exactly one error with exactly this code, and no data. */
function expectRefused(reply: Reply, status: number, code: string): void {
  expect({
    status: reply.status,
    codes: reply.body?.errors?.map((error) => error.extensions?.code),
    data: reply.body?.data ?? null,
  }).toEqual({ status, codes: [code], data: null });
}

// ---------------------------------------------------------------------------------------------------------
// Documents

/** `{ licenseEvents { events { grant { user { entitlements { grants { user ... } } } } } } }`, `depth` deep. */
function cycleFields(depth: number): { fields: string[]; leaf: string } {
  const fields = ['licenseEvents', 'events', 'grant'];
  const cycle = ['user', 'entitlements', 'grants'];
  while (fields.length < depth - 1) fields.push(cycle[(fields.length - 3) % cycle.length]);
  const last = fields[fields.length - 1];
  return { fields, leaf: last === 'entitlements' ? 'source' : 'id' };
}

const nest = (fields: string[], leaf: string) =>
  fields.reduceRight((inner, field) => `${field} { ${inner} }`, leaf);

/** A selection of exactly `depth` levels, starting at `licenseEvents`. */
function deep(depth: number): string {
  const { fields, leaf } = cycleFields(depth);
  return nest(fields, leaf);
}

/** The same deep selection, written in the ways GHSA-hmfr-rx46-4jx2 used to hide it from the depth rule. */
const DEEP_QUERIES: [string, (depth: number) => string][] = [
  ['an anonymous operation', (depth) => `{ ${deep(depth)} }`],
  ['an operation named __schema', (depth) => `query __schema { ${deep(depth)} }`],
  [
    'its deep part in a fragment named __schema',
    (depth) => {
      const { fields, leaf } = cycleFields(depth);
      return `query { licenseEvents { ...__schema } }
        fragment __schema on LicenseEventPage { ${nest(fields.slice(1), leaf)} }`;
    },
  ],
  [
    'an operation and a fragment both named __schema',
    (depth) => `query __schema { ...__schema } fragment __schema on Query { ${deep(depth)} }`,
  ],
  ['its top field aliased __schema', (depth) => `{ __schema: ${deep(depth)} }`],
];

const aliasesQuery = (count: number) =>
  `{ ${Array.from({ length: count }, (_, i) => `a${i}: features { key }`).join(' ')} }`;

const directivesQuery = (count: number) => `{ ${' __typename @include(if: true)'.repeat(count)} }`;

/** `{` + 1,666 × `tN : __typename` + `}` is 5,000 tokens; one more bare `__typename` makes 5,001. */
const tokensQuery = (tokens: number) => {
  const aliased = Math.floor((tokens - 2) / 3);
  const bare = tokens - 2 - 3 * aliased;
  const fields = Array.from({ length: aliased }, (_, i) => `t${i}: __typename`);
  return `{ ${fields.join(' ')}${' __typename'.repeat(bare)} }`;
};

/**
 * Each `licenseEvents(first: F) { events { id type actor reason } }` costs 14 × F (the rule multiplies by a
 * literal `first`); each top-level `__typename` costs 1. Pages of 1,000, one shorter page and single
 * `__typename`s add up to exactly the limit plus `over`.
 */
const costQuery = (over: number) => {
  const fullPages = Math.floor(QUERY_LIMITS.maxCost / 14_000);
  const rest = QUERY_LIMITS.maxCost - fullPages * 14_000;
  const lastPage = Math.floor(rest / 14);
  const typenames = rest - lastPage * 14 + over;
  return `{
    ${Array.from({ length: fullPages }, (_, i) => `p${i}: licenseEvents(first: 1000) { events { id type actor reason } }`).join('\n')}
    last: licenseEvents(first: ${lastPage}) { events { id type actor reason } }
    ${Array.from({ length: typenames }, (_, i) => `t${i}: __typename`).join(' ')}
  }`;
};

/** A JSON request body of exactly `bytes` bytes, padded with a variable the operation does not declare. */
function paddedBody(bytes: number): string {
  const bodyWith = (pad: string) => JSON.stringify({ query: '{ __typename }', variables: { pad } });
  const body = bodyWith('x'.repeat(bytes - Buffer.byteLength(bodyWith(''))));
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

// ---------------------------------------------------------------------------------------------------------

describe('query limits (HTTP)', () => {
  let server: TestServer;
  let admin: string;
  const gql = (query: string, variables?: Record<string, unknown>) =>
    post(server.url, { query, variables }, { token: admin });

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
    admin = await server.token('admin', ADMIN_SCOPES);
    // An audit event with a grant, so that deep queries actually walk events -> grant -> user -> ...
    expectAnswered(
      await gql('mutation { grantEntitlement(input: { userId: "deep", feature: "sso" }) { id } }'),
    );
  });
  afterAll(() => server.stop());

  describe('depth', () => {
    it.each(DEEP_QUERIES)('accepts %s at depth exactly 12', async (_name, build) => {
      const query = build(QUERY_LIMITS.maxDepth);
      expectMeasure(query, 'depth', 12);
      const data = expectAnswered(await gql(query));
      expect(Object.values(data)[0].events.length).toBeGreaterThan(0);
    });

    it.each(DEEP_QUERIES)('refuses %s at depth 13 with GRAPHQL_VALIDATION_FAILED', async (_name, build) => {
      const query = build(QUERY_LIMITS.maxDepth + 1);
      expectMeasure(query, 'depth', 13);
      expectRefused(await gql(query), 400, 'GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('aliases', () => {
    it('accepts 30 aliases', async () => {
      expectMeasure(aliasesQuery(30), 'aliases', 30);
      const data = expectAnswered(await gql(aliasesQuery(30)));
      expect(Object.keys(data)).toHaveLength(30);
    });

    it('refuses 31 aliases with GRAPHQL_VALIDATION_FAILED', async () => {
      expectMeasure(aliasesQuery(31), 'aliases', 31);
      expectRefused(await gql(aliasesQuery(31)), 400, 'GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('directives', () => {
    it('accepts 50 directives', async () => {
      expectMeasure(directivesQuery(50), 'directives', 50);
      expect(expectAnswered(await gql(directivesQuery(50)))).toEqual({ __typename: 'Query' });
    });

    it('refuses 51 directives with GRAPHQL_VALIDATION_FAILED', async () => {
      expectMeasure(directivesQuery(51), 'directives', 51);
      expectRefused(await gql(directivesQuery(51)), 400, 'GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('tokens', () => {
    it('accepts a document of exactly 5,000 tokens', async () => {
      expectMeasure(tokensQuery(5000), 'tokens', 5000);
      const data = expectAnswered(await gql(tokensQuery(5000)));
      expect(Object.keys(data)).toHaveLength(1666);
    });

    it('refuses a document of 5,001 tokens with GRAPHQL_VALIDATION_FAILED', async () => {
      expectMeasure(tokensQuery(5001), 'tokens', 5001);
      expectRefused(await gql(tokensQuery(5001)), 400, 'GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('cost', () => {
    it('accepts a query costing exactly the limit', async () => {
      expectMeasure(costQuery(0), 'cost', QUERY_LIMITS.maxCost);
      const data = expectAnswered(await gql(costQuery(0)));
      expect(data.p0.events.length).toBeGreaterThan(0);
    });

    it('refuses a query costing one more with GRAPHQL_VALIDATION_FAILED', async () => {
      expectMeasure(costQuery(1), 'cost', QUERY_LIMITS.maxCost + 1);
      expectRefused(await gql(costQuery(1)), 400, 'GRAPHQL_VALIDATION_FAILED');
    });

    it('accepts a full page of the audit trail with nested fields', async () => {
      const page =
        '{ licenseEvents(first: 1000) { events { id type actor reason occurredAt feature { key } grant { id } fromTier { key } toTier { key } } endCursor hasMore } }';
      expectAnswered(await gql(page));
    });
  });

  it('answers a router-sized _entities request: 10,000 User representations in one operation', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    const query = `query($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on User { id tier { key } hasEntitlement(feature: "api") }
      }
    }`;
    const reply = await gql(query, {
      representations: ids.map((id) => ({ __typename: 'User', id })),
    });
    const users = expectAnswered(reply)._entities as any[];
    expect(users).toHaveLength(10_000);
    expect(users.map((user) => user.id)).toEqual(ids);
    expect(users.every((user) => user.tier.key === 'basic' && user.hasEntitlement === true)).toBe(true);
  });

  describe('request body', () => {
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

  describe('CSRF prevention', () => {
    const getUrl = (query: string) => `${server.url}?query=${encodeURIComponent(query)}`;

    it('refuses a simple GET /graphql?query={__typename} (no preflight header, no content type)', async () => {
      const reply = await send(getUrl('{__typename}'), { headers: { authorization: `Bearer ${admin}` } });
      expectRefused(reply, 400, 'BAD_REQUEST');
      expect(reply.body?.errors?.[0].message).toMatch(/CSRF/);
    });

    it('refuses a POST with the simple content type text/plain', async () => {
      const reply = await post(
        server.url,
        { query: '{ __typename }' },
        {
          token: admin,
          headers: { 'content-type': 'text/plain' },
        },
      );
      expectRefused(reply, 400, 'BAD_REQUEST');
    });

    it('answers the same GET with apollo-require-preflight: true and a valid token', async () => {
      const reply = await send(getUrl('{ __typename features { key } }'), {
        headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
      });
      const data = expectAnswered(reply);
      expect(data.__typename).toBe('Query');
      expect(data.features.map((feature: { key: string }) => feature.key)).toContain('api');
    });
  });

  it('outside production, still suggests field names (the production check below can fail)', async () => {
    const reply = await gql('{ feturs { key } }');
    expectRefused(reply, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(reply.body?.errors?.[0].message).toMatch(/Did you mean/);
  });
});

describe('in production', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer({ configOverrides: { nodeEnv: 'production' } });
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
});

describe('in production, when the database fails', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer({ configOverrides: { nodeEnv: 'production' } });
    await createTestCatalog(server);
    admin = await server.token('admin', ADMIN_SCOPES);
    await server.dataSource.query('DROP TABLE grants');
  });
  afterAll(() => server.stop());

  it('masks the internal error: no message, stack trace or SQL text', async () => {
    const reply = await post(
      server.url,
      {
        query: `query($representations: [_Any!]!) {
          _entities(representations: $representations) { ... on User { id entitlements { source } } }
        }`,
        variables: { representations: [{ __typename: 'User', id: 'victim' }] },
      },
      { token: admin },
    );
    expect(reply.body?.errors).toHaveLength(1);
    const [error] = reply.body?.errors ?? [];
    expect(error.message).toBe('Internal server error');
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(reply.text).not.toMatch(/stacktrace|SELECT|grants|sqlite|no such table|\.ts:\d+/i);
  });
});

describe('ROUTER_SECRET', () => {
  let server: TestServer;
  let admin: string;
  const query = { query: '{ __typename features { key } }' };

  beforeAll(async () => {
    server = await startTestServer({ env: { ROUTER_SECRET: 's3cret' } });
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  it.each([
    ['without router-authorization', {}],
    ['with an empty router-authorization', { 'router-authorization': '' }],
    ['with a wrong router-authorization of the same length', { 'router-authorization': 's3creT' }],
    ['with a longer router-authorization', { 'router-authorization': 's3cret!' }],
    ['with the secret as a bearer value', { 'router-authorization': 'Bearer s3cret' }],
  ])('refuses a GraphQL request %s with HTTP 401, even with a valid token', async (_name, headers) => {
    const reply = await post(server.url, query, { token: admin, headers });
    expectRefused(reply, 401, 'UNAUTHENTICATED');
  });

  it('refuses a GET (with CSRF preflight) without router-authorization with HTTP 401', async () => {
    const reply = await send(`${server.url}?query=${encodeURIComponent('{__typename}')}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
    });
    expectRefused(reply, 401, 'UNAUTHENTICATED');
  });

  it('answers with the right router-authorization', async () => {
    const reply = await post(server.url, query, {
      token: admin,
      headers: { 'router-authorization': 's3cret' },
    });
    expect(expectAnswered(reply).__typename).toBe('Query');
  });

  it('still answers /healthz with 200 without it', async () => {
    const reply = await send(server.url.replace(/\/graphql$/, '/healthz'));
    expect(reply.status).toBe(200);
  });
});
