/**
 * Who is calling. Made by the transport from the request's bearer token and handed to every service call,
 * which is where access is decided (see access.ts). The requests that carry the same verified token share
 * one (see VerifiedTokens), so it is never changed.
 */
export interface Caller {
  /** The verified `sub` claim; null when the request carries no valid token. */
  readonly subject: string | null;
  readonly scopes: ReadonlySet<string>;
  /** When the token stops being valid; sockets are closed then. */
  readonly expiresAt: Date | null;
  /** Why the request is not authenticated, for the UNAUTHENTICATED message. */
  readonly problem: string | null;
  /** The token could not be checked (the identity provider did not answer): the same token may pass later. */
  readonly checkUnavailable: boolean;
}

export const Scope = {
  read: 'entitlements:read',
  write: 'entitlements:write',
  usageWrite: 'usage:write',
} as const;

export function unauthenticated(problem: string, options: { checkUnavailable?: boolean } = {}): Caller {
  return {
    subject: null,
    scopes: new Set(),
    expiresAt: null,
    problem,
    checkUnavailable: options.checkUnavailable ?? false,
  };
}

export function authenticated(subject: string, scopes: Iterable<string>, expiresAt: Date | null): Caller {
  return { subject, scopes: new Set(scopes), expiresAt, problem: null, checkUnavailable: false };
}

/** The actor of what the server records by itself (expiries). */
export const SYSTEM_ACTOR = 'system';

/** The actor of what an identity provider changes over SCIM: `scim:<token id>`. */
const SCIM_ACTOR_PREFIX = 'scim:';

export const scimActorOf = (tokenId: string): string => `${SCIM_ACTOR_PREFIX}${tokenId}`;

export const isScimActor = (actor: string | null): boolean => actor?.startsWith(SCIM_ACTOR_PREFIX) ?? false;

/**
 * Whether a token's `sub` would pass for the server's own actors in the audit trail (and a revocation by it for
 * SCIM's, which SCIM's next "active" undoes): `system` and `scim:…`, in any case and spacing.
 */
export function isReservedSubject(subject: string): boolean {
  const name = subject.trim().toLowerCase();
  return name === SYSTEM_ACTOR || name.startsWith(SCIM_ACTOR_PREFIX);
}

/** The name written into `LicenseEvent.actor` and `Grant.grantedBy`: the caller's `sub`. */
export function actorOf(caller: Caller): string {
  if (caller.subject === null) throw new Error('an unauthenticated caller cannot change anything');
  return caller.subject;
}
