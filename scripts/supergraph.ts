import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

import { withoutAuthDirectives } from '../src/graphql/directives';

const ROOT = join(__dirname, '..');
export const SUPERGRAPH_FILE = join(ROOT, 'supergraph.graphql');

/**
 * The supergraph of the local stack (docker-compose.yml): this subgraph's committed schema.graphql and the
 * demo users subgraph, at the addresses the router reaches them on inside compose. `authDirectives: false`
 * composes what the subgraph serves with FEDERATION_AUTH_DIRECTIVES=false.
 */
export function composeLocalSupergraph(options = { authDirectives: true }): string {
  const entitlements = parse(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
  const result = composeServices([
    {
      name: 'entitlements',
      url: 'http://entitlements:4001/graphql',
      typeDefs: options.authDirectives ? entitlements : withoutAuthDirectives(entitlements),
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

// `npm run supergraph [-- --without-auth-directives]`
if (require.main === module) {
  const authDirectives = !process.argv.includes('--without-auth-directives');
  const target = authDirectives ? SUPERGRAPH_FILE : join(ROOT, 'supergraph.without-auth-directives.graphql');
  writeFileSync(target, composeLocalSupergraph({ authDirectives }));
  console.log(`wrote ${target}`);
}
