import { onMysql } from './database';
import type { TestServer } from './server';
import { dataOf, mintToken, startTestServer } from './server';
import type { TestSocket } from './subscriptions';
import { openSocket } from './subscriptions';

export interface ScimReply {
  status: number;
  contentType: string | null;
  location: string | null;
  body: any;
}

export type ScimCall = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<ScimReply>;

/** /scim/v2 of the server whose GraphQL endpoint is `graphqlUrl`. */
export const scimBaseUrl = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '/scim/v2');

/**
 * Calls /scim/v2 as an identity provider does: `Authorization: Bearer <token>` (none when null) and a JSON body
 * as `application/scim+json`; a string body is sent as it is.
 */
export function scimClient(graphqlUrl: string, token: string | null): ScimCall {
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${scimBaseUrl(graphqlUrl)}${path}`, {
      method,
      headers: {
        accept: 'application/scim+json',
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json; charset=utf-8' }),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      location: response.headers.get('location'),
      body: text === '' ? null : JSON.parse(text),
    };
  };
}

/** A SCIM token made through the API, as an administrator would. */
export async function createScimToken(
  server: TestServer,
  args: { organizationId?: string; userIdAttribute?: 'EXTERNAL_ID' | 'USER_NAME' } = {},
): Promise<{ id: string; token: string }> {
  const { createScimToken: created } = dataOf(
    await server.gql<{ createScimToken: { id: string; token: string } }>(
      `mutation($organizationId: ID, $userIdAttribute: ScimUserIdAttribute) {
        createScimToken(organizationId: $organizationId, userIdAttribute: $userIdAttribute) { id token }
      }`,
      args,
    ),
  );
  return created;
}

/** The license status of `userId` as GraphQL reads it on `server`. */
export async function licenseStatus(server: TestServer, userId: string): Promise<string> {
  const { _entities } = dataOf(
    await server.gql<{ _entities: { license: { status: string } }[] }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { license { status } } } }',
      { r: [{ __typename: 'User', id: userId }] },
    ),
  );
  return _entities[0].license.status;
}

/** Expects a SCIM Error document with this status (a string in the document) and scimType. */
export function expectScimError(reply: ScimReply, status: number, scimType?: string): void {
  expect({ status: reply.status, contentType: reply.contentType, body: reply.body }).toEqual({
    status,
    contentType: 'application/scim+json; charset=utf-8',
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail: expect.any(String),
    },
  });
}

/** Where SCIM conversations are tested: the server providers call, the replica that reads and pushes, a watcher. */
export interface ProvisioningStage {
  provisioning: TestServer;
  /** On MySQL a second server on the same database; on SQLite the provisioning server itself. */
  replica: TestServer;
  /** An entitlements:read socket on the replica. */
  socket: TestSocket;
}

export async function startProvisioningStage(): Promise<ProvisioningStage> {
  const provisioning = await startTestServer({ seedCatalog: true });
  const replica = onMysql ? await startTestServer({ keepData: true }) : provisioning;
  const socket = openSocket(replica.wsUrl, {
    connectionParams: { authorization: `Bearer ${await mintToken('watcher', ['entitlements:read'])}` },
  });
  return { provisioning, replica, socket };
}

/** Stops what a (possibly failed) start left running. */
export async function stopProvisioningStage(stage: Partial<ProvisioningStage>): Promise<void> {
  await stage.socket?.close();
  if (stage.replica !== stage.provisioning) await stage.replica?.stop();
  await stage.provisioning?.stop();
}
