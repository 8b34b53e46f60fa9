import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import { Lexer, parse, Source, specifiedRules, TokenKind, validate } from 'graphql';

import { QUERY_LIMITS } from '../../src/graphql/limits';
import { buildSubgraph } from '../../src/graphql/schema';
import { createTestCatalog } from '../testkit/catalog';
import { expectAnswered, expectRefused, post } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/**
 * The limits on a query's shape (depth, aliases, directives, tokens, cost), each just at and just over its
 * bound, including the GHSA-hmfr-rx46-4jx2 depth bypass; and the large requests a router legitimately sends.
 *
 * Every crafted query is first measured with the same graphql-armor rules and graphql-js lexer the server
 * uses, so each test states (and checks) exactly where it sits relative to the bound.
 */

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
// Documents

/**
 * `{ licenseEvents(first: 1) { events { grant { user { entitlement(feature: "sso") { grants { user ... } } } } } } }`,
 * `depth` deep: one event and one entitlement at each level, within the cost limit (every list below the user of
 * an event counts as 10 there).
 */
const ENTITLEMENT = 'entitlement(feature: "sso")';
const FIRST_EVENT = 'licenseEvents(first: 1)';
function cycleFields(depth: number): { fields: string[]; leaf: string } {
  const fields = [FIRST_EVENT, 'events', 'grant'];
  const cycle = ['user', ENTITLEMENT, 'grants'];
  while (fields.length < depth - 1) fields.push(cycle[(fields.length - 3) % cycle.length]);
  const last = fields[fields.length - 1];
  return { fields, leaf: last === ENTITLEMENT ? 'source' : 'id' };
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
      return `query { ${FIRST_EVENT} { ...__schema } }
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

// ---------------------------------------------------------------------------------------------------------
// The bounds: each document is accepted at the bound and refused one over it

interface Bound {
  measure: keyof Profile;
  /** Where the document is accepted; one more is refused. */
  bound: number;
  /** A valid document measuring `n` by `measure`, and within every other limit. */
  build(n: number): string;
  accepted: string;
  refused: string;
  /** What the document at the bound must answer. */
  expectAnswer(data: Record<string, any>): void;
}

const BOUNDS: Bound[] = [
  ...DEEP_QUERIES.map(([name, build]): Bound => ({
    measure: 'depth',
    bound: 12,
    build,
    accepted: `${name} at depth exactly 12`,
    refused: `${name} at depth 13`,
    expectAnswer: (data) => expect(Object.values(data)[0].events.length).toBeGreaterThan(0),
  })),
  {
    measure: 'aliases',
    bound: 30,
    build: aliasesQuery,
    accepted: '30 aliases',
    refused: '31 aliases',
    expectAnswer: (data) => expect(Object.keys(data)).toHaveLength(30),
  },
  {
    measure: 'directives',
    bound: 50,
    build: directivesQuery,
    accepted: '50 directives',
    refused: '51 directives',
    expectAnswer: (data) => expect(data).toEqual({ __typename: 'Query' }),
  },
  {
    measure: 'tokens',
    bound: 5000,
    build: tokensQuery,
    accepted: 'a document of exactly 5,000 tokens',
    refused: 'a document of 5,001 tokens',
    expectAnswer: (data) => expect(Object.keys(data)).toHaveLength(1666),
  },
  {
    measure: 'cost',
    bound: QUERY_LIMITS.maxCost,
    build: (cost) => costQuery(cost - QUERY_LIMITS.maxCost),
    accepted: 'a query costing exactly the limit',
    refused: 'a query costing one more',
    expectAnswer: (data) => expect(data.p0.events.length).toBeGreaterThan(0),
  },
];

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

  it.each(BOUNDS)('accepts $accepted', async ({ measure, bound, build, expectAnswer }) => {
    const query = build(bound);
    expectMeasure(query, measure, bound);
    expectAnswer(expectAnswered(await gql(query)));
  });

  it.each(BOUNDS)('refuses $refused with GRAPHQL_VALIDATION_FAILED', async ({ measure, bound, build }) => {
    const query = build(bound + 1);
    expectMeasure(query, measure, bound + 1);
    expectRefused(await gql(query), 400, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('accepts a full page of the audit trail with nested fields', async () => {
    const page =
      '{ licenseEvents(first: 1000) { events { id type actor reason occurredAt feature { key } grant { id } fromTier { key } toTier { key } } endCursor hasMore } }';
    expectAnswered(await gql(page));
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
});
