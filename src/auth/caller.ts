/**
 * Who is calling. Built once per request by the transport from its bearer token and handed to every
 * service call, which is where access is decided (see access.ts).
 */
export interface Caller {
  /** The verified `sub` claim; null when the request carries no valid token. */
  subject: string | null;
  scopes: ReadonlySet<string>;
  /** When the token stops being valid; sockets are closed then. */
  expiresAt: Date | null;
  /** Why the request is not authenticated, for the UNAUTHENTICATED message. */
  problem: string | null;
  /** The token could not be checked (the identity provider did not answer): the same token may pass later. */
  checkUnavailable: boolean;
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

/** The name written into `LicenseEvent.actor` and `Grant.grantedBy`: the caller's `sub`. */
export function actorOf(caller: Caller): string {
  if (caller.subject === null) throw new Error('an unauthenticated caller cannot change anything');
  return caller.subject;
}
