import { createTestCatalog } from '../testkit/catalog';
import type { GraphQLResponse, TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';
import type { TestSocket } from '../testkit/subscriptions';
import { openSocket } from '../testkit/subscriptions';

/**
 * The cost limit counts what the request's variables ask for: a `first` given as a variable, and the
 * representations `_entities` is given. HTTP and WebSocket refuse the same operations.
 */

let server: TestServer;
let socket: TestSocket;

const EVENTS = 'events { id type actor reason }';
/** 30 aliased pages (the alias limit) of `first` events each: 30 × 14 × first. */
const thirtyPages = (first: string, variables = '($n: Int)') =>
  `query${variables} { ${Array.from({ length: 30 }, (_, i) => `p${i}: licenseEvents(first: ${first}) { ${EVENTS} }`).join(' ')} }`;
const ONE_PAGE = `query($n: Int) { licenseEvents(first: $n) { ${EVENTS} hasMore } }`;
const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id tier { key } hasEntitlement(feature: "api") } }
}`;
const users = (count: number) =>
  Array.from({ length: count }, () => ({ __typename: 'User', id: 'same-user' }));

type Transport = (query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse>;

const overHttp: Transport = async (query, variables) => {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await server.token('admin', ['entitlements:read'])}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await response.json()) as GraphQLResponse), status: response.status } as GraphQLResponse;
};

/** The operation as a graphql-ws subscribe message; its one result or its errors. */
const overWebSocket: Transport = async (query, variables) => {
  const operation = socket.subscribe(query, variables);
  await operation.ended;
  return operation.received[0];
};

const transports: [string, Transport][] = [
  ['HTTP', overHttp],
  ['WebSocket', overWebSocket],
];

function expectRefusedForCost(response: GraphQLResponse): void {
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.map((error) => error.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  expect(response.errors?.[0].message).toMatch(/cost limit of 100000 exceeded/i);
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  socket = openSocket(server.wsUrl, {
    connectionParams: { authorization: `Bearer ${await server.token('auditor', ['entitlements:read'])}` },
  });
});
afterAll(async () => {
  await socket.close();
  await server.stop();
});

describe.each(transports)('over %s', (_name, send) => {
  it('refuses 30 pages of $n = 1,000 events, as it refuses them with a literal 1000', async () => {
    expectRefusedForCost(await send(thirtyPages('$n'), { n: 1000 }));
    expectRefusedForCost(await send(thirtyPages('1000', '')));
    // Again: the cost of an operation without variables is reckoned once and kept for its text.
    expectRefusedForCost(await send(thirtyPages('1000', '')));
  });

  it('reckons a cost that reads variables again for each request: $n = 10 answered, then 1,000 refused', async () => {
    const text = thirtyPages('$n', '($n: Int!)');
    expect((await send(text, { n: 10 })).errors).toBeUndefined();
    expectRefusedForCost(await send(text, { n: 1000 }));
  });

  it('refuses them when $n takes its default value 1,000 from the operation', async () => {
    expectRefusedForCost(await send(thirtyPages('$n', '($n: Int = 1000)')));
  });

  it('refuses them when the variable left out is named like a property every object has', async () => {
    expectRefusedForCost(await send(thirtyPages('$constructor', '($constructor: Int = 1000)')));
    expectRefusedForCost(await send(thirtyPages('$toString', '($toString: Int = 1000)'), {}));
  });

  it.each([
    ['omitted', '', ''],
    ['null', '(first: null)', ''],
    ['a null variable', '(first: $n)', '($n: Int)'],
  ])(
    'counts a `first` that is %s as the default page it returns (100 events)',
    async (_name, argument, declared) => {
      const pages = (page: string, variables: string) =>
        `query${variables} { ${Array.from({ length: 30 }, (_, i) => `p${i}: licenseEvents${page} { events { id type actor reason user { id tier { key name rank } license { status updatedAt } } } }`).join(' ')} }`;
      const variables = declared ? { n: null } : undefined;
      expectRefusedForCost(await send(pages(argument, declared), variables));
      expect((await send(pages('(first: 2)', ''))).errors).toBeUndefined();
    },
  );

  it('refuses fragments nested ten deep, each spread ten times (10^10 fields), working each fragment out once', async () => {
    const levels = Array.from(
      { length: 10 },
      (_, i) => `fragment F${i} on Query { ${Array.from({ length: 10 }, () => `...F${i + 1}`).join(' ')} }`,
    );
    expectRefusedForCost(
      await send(`query { ...F0 } ${levels.join(' ')} fragment F10 on Query { __typename }`),
    );
  });

  it('answers one page of $n = 1,000 events, and 30 pages of $n = 10', async () => {
    for (const [query, n] of [
      [ONE_PAGE, 1000],
      [thirtyPages('$n'), 10],
    ] as const) {
      const response = await send(query, { n });
      expect(response.errors).toBeUndefined();
      expect(response.data).toBeTruthy();
    }
  });

  it('refuses 20,000 representations of one user: they cost what 20,000 entities cost', async () => {
    expectRefusedForCost(await send(ENTITIES, { representations: users(20_000) }));
  });

  it('counts a license token as 50: 2,001 users asking one are refused, 2,000 answered', async () => {
    const tokens = `query($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on User { licenseToken(ttlSeconds: 60) { token expiresAt } }
      }
    }`;
    const distinct = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ __typename: 'User', id: `token-user-${i}` }));
    expectRefusedForCost(await send(tokens, { representations: distinct(2001) }));
    const response = await send(tokens, { representations: distinct(2000) });
    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toHaveLength(2000);
  });

  it("refuses a user's entitlements, their grants, the grants' user and its entitlements, three times over", async () => {
    // One user's 25 entitlements, one grant each, answered 25^4 times: each list inside a list counts as 10.
    const chain = `${'entitlements { grants { user { '.repeat(3)}entitlements { limit }${' } } }'.repeat(3)}`;
    const query = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { ${chain} } } }`;
    expectRefusedForCost(await send(query, { representations: users(1) }));
  });

  it("refuses an organization's entitlements, their organizations and their entitlements, three times over", async () => {
    const chain = `${'entitlements { organizations { '.repeat(3)}entitlements { source }${' } }'.repeat(3)}`;
    expectRefusedForCost(await send(`{ licenseEvents { events { organization { ${chain} } } } }`));
  });

  it("answers a page of events with each grant's user, its entitlements and their grants, and 1,000 events' users", async () => {
    for (const query of [
      '{ licenseEvents { events { grant { user { entitlements { grants { feature { key } } } } } } } }',
      '{ licenseEvents(first: 1000) { events { id type user { id entitlements { feature { key } limit used } } } } }',
    ]) {
      const response = await send(query);
      expect(response.errors).toBeUndefined();
    }
  });

  it("answers a user's entitlements with their grants, and 1,000 users' entitlements", async () => {
    const query = `query($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on User { entitlements { feature { key } limit used remaining grants { id expiresAt } } }
      }
    }`;
    const distinct = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ __typename: 'User', id: `listed-${i}` }));
    for (const count of [1, 1000]) {
      const response = await send(query, { representations: distinct(count) });
      expect(response.errors).toBeUndefined();
      expect(response.data?._entities).toHaveLength(count);
    }
  });

  it("answers 10,000 representations asking the router's hot check", async () => {
    const response = await send(ENTITIES, { representations: users(10_000) });
    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toHaveLength(10_000);
  });
});

it('refuses over HTTP with status 400, as the static limits', async () => {
  const response = (await overHttp(thirtyPages('$n'), { n: 1000 })) as GraphQLResponse & { status: number };
  expect(response.status).toBe(400);
});
