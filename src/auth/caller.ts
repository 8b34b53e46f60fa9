/**
 * Who is calling. Built once per request by the transport and handed to every service call, which is
 * where access is decided. Until token verification lands, every request is the anonymous caller.
 */
export interface Caller {
  /** The verified `sub` claim; null for an unauthenticated request. */
  subject: string | null;
  scopes: ReadonlySet<string>;
}

export const ANONYMOUS_ACTOR = 'anonymous';

export const anonymousCaller: Caller = Object.freeze({ subject: null, scopes: new Set<string>() });

/** The name written into `LicenseEvent.actor` and `Grant.grantedBy`. */
export function actorOf(caller: Caller): string {
  return caller.subject ?? ANONYMOUS_ACTOR;
}
