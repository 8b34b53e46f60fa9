import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { composeServices } from '@apollo/composition';
import type { ObjectTypeDefinitionNode } from 'graphql';
import { Kind, parse, print } from 'graphql';

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

  it("asks the router for a token on every field this subgraph adds to User (none is the caller's to read without one)", () => {
    const user = parse(result.supergraphSdl as string).definitions.find(
      (definition): definition is ObjectTypeDefinitionNode =>
        definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === 'User',
    )!;
    const ours = user.fields!.filter((field) =>
      field.directives!.some(
        (directive) =>
          directive.name.value === 'join__field' &&
          directive.arguments!.some((argument) => print(argument.value) === 'ENTITLEMENTS'),
      ),
    );
    const open = ours.filter(
      (field) => !field.directives!.some((directive) => directive.name.value === 'authenticated'),
    );
    expect(ours.map((field) => field.name.value)).toContain('licenseToken');
    expect(open.map((field) => field.name.value)).toEqual([]);
  });
});

describe('supergraph.graphql of the local stack', () => {
  it('is what `npm run supergraph` composes from the committed schemas', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeLocalSupergraph());
  });
});
