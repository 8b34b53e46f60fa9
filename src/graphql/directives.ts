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
