import type { TestServer } from './server';
import { dataOf } from './server';

/** A User as the router fetches it: `_entities` with the given selection. */
export async function readUser(server: TestServer, id: string, selection: string): Promise<any> {
  const data = dataOf(
    await server.gql(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { ${selection} } } }`,
      { reps: [{ __typename: 'User', id }] },
    ),
  );
  return data._entities[0];
}

/** The stored events of a user (or, with `organizationId`, of an organization), oldest first. */
export async function storedEvents(
  server: TestServer,
  owner: { userId: string } | { organizationId: string },
  selection = 'type',
): Promise<any[]> {
  const response = await server.gql(
    `query($u: ID, $o: ID) { licenseEvents(userId: $u, organizationId: $o, first: 1000) { events { ${selection} } } }`,
    'userId' in owner ? { u: owner.userId } : { o: owner.organizationId },
  );
  return dataOf(response).licenseEvents.events;
}

const RECORD_USAGE = `mutation($input: RecordUsageInput!) {
  recordUsage(input: $input) { allowed meter { used limit remaining } }
}`;

/** recordUsage as a metering service calls it; the result must not be an error. */
export async function recordUsage(
  server: TestServer,
  token: string,
  input: Record<string, unknown>,
): Promise<{ allowed: boolean; meter: { used: number; limit: number | null; remaining: number | null } }> {
  return dataOf(await server.gqlAs(token, RECORD_USAGE, { input })).recordUsage;
}
