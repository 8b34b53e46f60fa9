import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const ROOT = join(__dirname, '..');
export const SUPERGRAPH_FILE = join(ROOT, 'supergraph.graphql');

/**
 * The supergraph of the local stack (docker-compose.yml): this subgraph's committed schema.graphql and the
 * demo users subgraph, at the addresses the router reaches them on inside compose.
 */
export function composeLocalSupergraph(): string {
  const result = composeServices([
    {
      name: 'entitlements',
      url: 'http://entitlements:4001/graphql',
      typeDefs: parse(readFileSync(join(ROOT, 'schema.graphql'), 'utf8')),
    },
    {
      name: 'users',
      url: 'http://users:4002/graphql',
      typeDefs: parse(readFileSync(join(ROOT, 'examples', 'users-subgraph', 'users.graphql'), 'utf8')),
    },
  ]);
  if (result.errors)
    throw new Error(`composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  return `${result.supergraphSdl}\n`;
}

if (require.main === module) {
  writeFileSync(SUPERGRAPH_FILE, composeLocalSupergraph());
  console.log(`wrote ${SUPERGRAPH_FILE}`);
}
