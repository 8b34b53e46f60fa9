import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

import { composeLocalSupergraph, SUPERGRAPH_FILE } from '../../scripts/supergraph';

const read = (...path: string[]) => readFileSync(join(__dirname, '..', '..', ...path), 'utf8');

describe('composition', () => {
  const result = composeServices([
    {
      name: 'users',
      typeDefs: parse(read('examples', 'users-subgraph', 'users.graphql')),
      url: 'http://users/graphql',
    },
    { name: 'entitlements', typeDefs: parse(read('schema.graphql')), url: 'http://entitlements/graphql' },
  ]);

  it('composes the committed schema.graphql with a users subgraph without errors', () => {
    expect(result.errors ?? []).toEqual([]);
    expect(result.supergraphSdl).toBeDefined();
  });

  it('carries the router-side access rules into the supergraph', () => {
    const supergraph = result.supergraphSdl as string;
    expect(supergraph).toMatch(
      /hasEntitlement\(feature: ID!, organizationId: ID\): Boolean! @join__field\(graph: ENTITLEMENTS\) @authenticated/,
    );
    expect(supergraph).toContain('@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)');
    expect(supergraph).toMatch(
      /revokeLicense\(.*\): User! @requiresScopes\(scopes: \[\["entitlements:write"\]\]\)/,
    );
    // The users subgraph's own fields stay open to the router's other rules.
    expect(supergraph).toMatch(/email: String! @join__field\(graph: USERS\)\n/);
  });
});

describe('supergraph.graphql of the local stack', () => {
  it('is what `npm run supergraph` composes from the committed schemas', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeLocalSupergraph());
  });
});
