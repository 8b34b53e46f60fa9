// A minimal users subgraph for the local stack and the end-to-end tests: it owns `User { id email name }`,
// as the identity service of a real supergraph would. Users are made up: user-0 ... user-N.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { buildSubgraphSchema } = require('@apollo/subgraph');
const { GraphQLError, parse } = require('graphql');
const { createRemoteJWKSet, jwtVerify } = require('jose');

const typeDefs = parse(readFileSync(join(__dirname, 'users.graphql'), 'utf8'));

function userOf(id) {
  const match = /^user-(\d+)$/.exec(id);
  return match ? { id, email: `${id}@example.com`, name: `User ${match[1]}` } : null;
}

const unauthenticated = (message) => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });

/** The verified `sub` of the request's bearer token: the gateway forwards the caller's Authorization. */
async function callerOf(authorization, jwks) {
  if (!jwks)
    throw new GraphQLError('`me` needs JWKS_URL: the users subgraph cannot verify tokens without it');
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) throw unauthenticated('A bearer token is required');
  try {
    return (await jwtVerify(token, jwks)).payload.sub;
  } catch {
    throw unauthenticated('The token is invalid');
  }
}

/**
 * Starts the subgraph; resolves with its URL. `count` users exist: user-0 ... user-(count - 1). `jwksUrl`: where
 * the keys that sign callers' tokens are (the entitlements subgraph's development JWKS in the local stack).
 */
async function startUsersSubgraph({ port = 4002, count = 1000, jwksUrl } = {}) {
  const users = Array.from({ length: count }, (_, i) => userOf(`user-${i}`));
  const byId = new Map(users.map((user) => [user.id, user]));
  const jwks = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : null;
  const resolvers = {
    Query: {
      me: async (_root, _args, { authorization }) => byId.get(await callerOf(authorization, jwks)) ?? null,
      users: (_root, { first }) => (first == null ? users : users.slice(0, Math.max(first, 0))),
      user: (_root, { id }) => byId.get(id) ?? null,
    },
    User: { __resolveReference: ({ id }) => byId.get(id) ?? null },
  };
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
  const { url } = await startStandaloneServer(server, {
    listen: { port },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { url, stop: () => server.stop() };
}

module.exports = { startUsersSubgraph };

if (require.main === module) {
  startUsersSubgraph({
    port: Number(process.env.PORT ?? 4002),
    jwksUrl: process.env.JWKS_URL || undefined,
  }).then(({ url }) => console.log(`users subgraph at ${url}`));
}
