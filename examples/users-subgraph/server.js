// A minimal users subgraph for the local stack and the end-to-end tests: it owns `User { id email name }`,
// as the identity service of a real supergraph would. Users are made up: user-0 ... user-N.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { buildSubgraphSchema } = require('@apollo/subgraph');
const { parse } = require('graphql');

const typeDefs = parse(readFileSync(join(__dirname, 'users.graphql'), 'utf8'));

function userOf(id) {
  const match = /^user-(\d+)$/.exec(id);
  return match ? { id, email: `${id}@example.com`, name: `User ${match[1]}` } : null;
}

/** Starts the subgraph; resolves with its URL. `count` users exist: user-0 ... user-(count - 1). */
async function startUsersSubgraph({ port = 4002, count = 1000 } = {}) {
  const users = Array.from({ length: count }, (_, i) => userOf(`user-${i}`));
  const resolvers = {
    Query: {
      users: () => users,
      user: (_root, { id }) => users.find((user) => user.id === id) ?? null,
    },
    User: { __resolveReference: ({ id }) => users.find((user) => user.id === id) ?? null },
  };
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
  const { url } = await startStandaloneServer(server, { listen: { port } });
  return { url, stop: () => server.stop() };
}

module.exports = { startUsersSubgraph };

if (require.main === module) {
  startUsersSubgraph({ port: Number(process.env.PORT ?? 4002) }).then(({ url }) =>
    console.log(`users subgraph at ${url}`),
  );
}
