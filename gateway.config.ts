// Hive Gateway (open source, no account needed) for the local supergraph: `docker compose up` mounts this file
// into the gateway's container, and test/e2e/hive-gateway.test.ts runs it with node_modules/.bin/hive-gateway.
// The defaults are the compose services' addresses; the variables below point it elsewhere.
import type { GatewayPlugin, JWTAuthContextExtension } from '@graphql-hive/gateway';
import { createRemoteJwksSigningKeyProvider, defineConfig } from '@graphql-hive/gateway';
import { GraphQLError } from 'graphql';

const setting = (name: string, fallback: string) => process.env[name] || fallback;

const ENTITLEMENTS_URL = setting('ENTITLEMENTS_URL', 'http://entitlements:4001/graphql');
const USERS_URL = setting('USERS_URL', 'http://users:4002/graphql');
// The replicas' development JWKS (both share one key); point it at your identity provider's JWKS instead.
const JWKS_URL = setting('JWKS_URL', 'http://entitlements:4001/.well-known/jwks.json');

interface CallerContext {
  connectionParams?: Record<string, unknown>;
  request?: Request;
}

/** The bearer token of the connection_init payload's `authorization` (WebSocket) or the request's header (HTTP). */
function bearerTokenOf({ connectionParams, request }: CallerContext): string | undefined {
  const authorization = connectionParams?.authorization ?? request?.headers.get('authorization');
  return typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
}

/**
 * A bearer token that fails verification (signature, `exp`, algorithm, unknown key) is turned away here with
 * the subgraph's own code, UNAUTHENTICATED, over HTTP (status 401) and WebSocket alike: the JWT plugin's own
 * rejection carries no code. So is a WebSocket operation without a token: the subgraph would close the socket
 * (4401), and the gateway would pass that on as an error without message or code.
 */
const rejectUnverifiedToken: GatewayPlugin<JWTAuthContextExtension> = {
  onContextBuilding({ context }) {
    if (context.jwt) return;
    // Present, perhaps undefined (no connection_init payload), on every WebSocket operation.
    const overWebSocket = 'connectionParams' in context;
    if (bearerTokenOf(context)) {
      throw new GraphQLError('The token is invalid', {
        extensions: { code: 'UNAUTHENTICATED', ...(overWebSocket ? {} : { http: { status: 401 } }) },
      });
    }
    if (overWebSocket) {
      throw new GraphQLError('A bearer token is required', { extensions: { code: 'UNAUTHENTICATED' } });
    }
  },
};

export const gatewayConfig = defineConfig({
  // Composed from schema.graphql and the demo users subgraph by `npm run supergraph`: no registry involved.
  supergraph: './supergraph.graphql',
  transportEntries: {
    entitlements: {
      location: ENTITLEMENTS_URL,
      options: {
        // Subscriptions reach the subgraph over graphql-ws, the caller's token in connection_init.
        subscriptions: {
          kind: 'ws',
          location: ENTITLEMENTS_URL,
          options: { connectionParams: { authorization: '{context.headers.authorization}' } },
        },
      },
    },
    users: { location: USERS_URL },
  },
  // A token, when present, must verify here (rejectUnverifiedToken); a request without one goes on, and the
  // subgraph answers UNAUTHENTICATED for every field that needs one (own-user reads can only be decided there).
  jwt: {
    signingKeyProviders: [
      createRemoteJwksSigningKeyProvider({ jwksUri: JWKS_URL, cache: true, rateLimit: true }),
    ],
    tokenLookupLocations: [
      ({ request, serverContext }) => {
        const token = bearerTokenOf({ ...serverContext, request });
        return token ? { prefix: 'Bearer', token } : undefined;
      },
    ],
    tokenVerification: {
      algorithms: ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    },
    reject: { missingToken: false, invalidToken: false },
  },
  plugins: () => [rejectUnverifiedToken],
  // Every subgraph sees the caller's token: the entitlements subgraph checks it again and applies its rules.
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
});
