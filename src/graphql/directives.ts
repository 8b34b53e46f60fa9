import type { DocumentNode } from 'graphql';
import { visit } from 'graphql';

/**
 * Router-side access rules, declared in the SDL so that a GraphOS router can turn requests away before
 * they reach this subgraph. The subgraph's services enforce the same rules (and own-user reads) itself.
 */
export const AUTHENTICATED = '@authenticated';
/** The outer list is an OR: whoever may change every license may also read (see src/auth/access.ts). */
export const REQUIRES_READ_SCOPE = '@requiresScopes(scopes: [["entitlements:read"], ["entitlements:write"]])';
export const REQUIRES_WRITE_SCOPE = '@requiresScopes(scopes: [["entitlements:write"]])';
/** The outer list is an OR: either scope will do. */
export const REQUIRES_USAGE_SCOPE = '@requiresScopes(scopes: [["usage:write"], ["entitlements:write"]])';

/** The directives above: only a router that enforces `for: SECURITY` features understands them (GraphOS Router). */
export const AUTH_DIRECTIVES = ['@authenticated', '@requiresScopes'];

/**
 * The document without the router-side access directives (FEDERATION_AUTH_DIRECTIVES=false), for gateways
 * that refuse `for: SECURITY` features, such as @apollo/gateway. The services enforce the same rules.
 */
export function withoutAuthDirectives(document: DocumentNode): DocumentNode {
  const isAuthDirective = (name: string) =>
    AUTH_DIRECTIVES.includes(name.startsWith('@') ? name : `@${name}`);
  return visit(document, {
    Directive: (node) => (isAuthDirective(node.name.value) ? null : undefined),
    DirectiveDefinition: (node) => (isAuthDirective(node.name.value) ? null : undefined),
    // The names in @link(import: [...]).
    StringValue: (node, _key, parent) =>
      Array.isArray(parent) && isAuthDirective(node.value) ? null : undefined,
  });
}
