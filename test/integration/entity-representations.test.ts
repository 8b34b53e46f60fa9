import { LicenseService } from '../../src/services/license.service';
import { spawnServer, waitUntilReady } from '../testkit/process';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import { waitUntil } from '../testkit/wait';

const users = (ids: string[]) => ids.map((id) => ({ __typename: 'User', id }));

describe('_entities representations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());
  afterEach(() => jest.restoreAllMocks());

  // As many copies as the cost limit lets through with this selection (20,000 are refused: see query-cost tests).
  it('resolves 4,000 copies of one representation once and answers every position', async () => {
    const token = await server.token('victim', []);
    const reads = jest.spyOn(LicenseService.prototype, 'view');
    const response = await server.gqlAs(
      token,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id tier { key } entitlements { feature { key } } } } }',
      { r: users(Array.from({ length: 4_000 }, () => 'victim')) },
    );
    const entities = dataOf(response)._entities as any[];
    expect(entities).toHaveLength(4_000);
    expect(new Set(entities.map((entity) => JSON.stringify(entity))).size).toBe(1);
    expect(entities[3_999]).toMatchObject({ id: 'victim', tier: { key: 'basic' } });
    // One read, of one user, for both fields of every copy.
    expect(reads.mock.calls.map(([, userIds]) => userIds)).toEqual([['victim']]);
  });

  it('answers repeats in order, under every alias, with an error at every position of a bad id', async () => {
    const tooLong = 'x'.repeat(129);
    const ids = ['a', tooLong, 'b', 'a', tooLong, 'c', 'b'];
    const response = await server.gql(
      `query($r: [_Any!]!) {
        first: _entities(representations: $r) { ... on User { id } }
        second: _entities(representations: $r) { ... on User { id tier { key } } }
      }`,
      { r: users(ids) },
    );
    const expected = ids.map((id) => (id === tooLong ? null : { id }));
    expect(response.data?.first).toEqual(expected);
    expect(response.data?.second.map((user: any) => user && user.id)).toEqual(
      ids.map((id, i) => expected[i] && id),
    );
    expect(response.errors?.map((error) => [error.path, error.extensions.code])).toEqual(
      expect.arrayContaining([
        [['first', 1], 'BAD_USER_INPUT'],
        [['first', 4], 'BAD_USER_INPUT'],
        [['second', 1], 'BAD_USER_INPUT'],
        [['second', 4], 'BAD_USER_INPUT'],
      ]),
    );
    expect(response.errors).toHaveLength(4);
  });

  it('answers 20,000 distinct representations without a token with one UNAUTHENTICATED, not one per user', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
    const response = await server.gqlAs(
      null,
      'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
      { r: users(ids) },
    );
    expect(response.data?._entities ?? null).toBeNull();
    expect(response.errors?.map((error) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses the whole request when one representation is not a User', async () => {
    const response = await server.gql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
      { r: [...users(['a', 'b']), { __typename: 'Product', id: '1' }] },
    );
    expect(response.data).toBeNull();
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'representations',
    });
  });
});

describe('24,000 representations that are not entities of this subgraph', () => {
  it('get one BAD_USER_INPUT and one log line, without a token', async () => {
    const child = spawnServer({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'info' });
    try {
      const url = await waitUntilReady(child);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'many-non-entities' },
        body: JSON.stringify({
          query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
          variables: {
            r: Array.from({ length: 24_000 }, (_, i) => ({ __typename: 'Product', upc: `p${i}` })),
          },
        }),
      });
      const body = (await response.json()) as any;
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      const lines = () =>
        child
          .output()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
          .filter((line) => line.reqId === 'many-non-entities');
      // The access line is written when the response is finished; wait for it, then count.
      await waitUntil(() => lines().some((line) => line.msg === 'request completed'), {
        what: 'the access log line',
      });
      expect(lines()).toMatchObject([{ msg: 'request completed', level: 30 }]);
    } finally {
      await child.stop();
    }
  });
});
