import type { EventFilter } from '../domain/event-filter';
import { checkOrganizationId, checkUserId } from '../domain/validation';
import { BadUserInputError, ForbiddenError, UnauthenticatedError } from '../errors';
import type { Caller } from './caller';
import { Scope } from './caller';

/**
 * The access rules of the contract, in one place. Services call these before they validate or touch
 * anything, so an unauthorized caller learns nothing about the data or the input rules.
 */

export function assertAuthenticated(caller: Caller): void {
  if (caller.subject === null) throw new UnauthenticatedError(caller.problem ?? undefined);
}

export function assertScope(caller: Caller, scope: string): void {
  assertAuthenticated(caller);
  if (!caller.scopes.has(scope)) throw new ForbiddenError(`This operation needs the scope ${scope}`);
}

/** Any one of `scopes` will do. */
export function assertAnyScope(caller: Caller, scopes: string[]): void {
  assertAuthenticated(caller);
  if (!scopes.some((scope) => caller.scopes.has(scope))) {
    throw new ForbiddenError(`This operation needs one of the scopes ${scopes.join(', ')}`);
  }
}

/** `entitlements:read`, or `entitlements:write`: whoever may change every license may also see it. */
export function canReadEveryone(caller: Caller): boolean {
  return caller.scopes.has(Scope.read) || caller.scopes.has(Scope.write);
}

/** What only a token that reads everyone may see (webhook endpoints and deliveries, say). */
export function assertCanReadEveryone(caller: Caller, what: string): void {
  assertAuthenticated(caller);
  if (!canReadEveryone(caller)) throw new ForbiddenError(`Reading ${what} needs the scope ${Scope.read}`);
}

/** A user's licensing fields: a token that reads everyone, or the user's own token. */
export function canReadUser(caller: Caller, userId: string): boolean {
  return caller.subject !== null && (caller.subject === userId || canReadEveryone(caller));
}

export function assertCanReadUser(caller: Caller, userId: string): void {
  assertAuthenticated(caller);
  if (!canReadUser(caller, userId)) throw new ForbiddenError(`This token may not read user "${userId}"`);
}

/** The audit trail: everyone's with `entitlements:read`, one's own with any valid token. */
export function assertCanReadEvents(caller: Caller, userId: string | null): void {
  assertAuthenticated(caller);
  if (userId === null && !canReadEveryone(caller)) {
    throw new ForbiddenError(
      `Reading every user's events needs the scope ${Scope.read}; pass your own userId`,
    );
  }
  if (userId !== null && !canReadUser(caller, userId)) {
    throw new ForbiddenError(`This token may not read the events of user "${userId}"`);
  }
}

/**
 * Whose events a reader follows, after the access check: one organization's (needs a token that reads
 * everyone), the user asked for (if the caller may read them), else everyone's for a token that reads
 * everyone, else the caller's own.
 */
export function eventFilterFor(
  caller: Caller,
  asked: { userId?: string | null; organizationId?: string | null },
): EventFilter {
  const userId = asked.userId ?? null;
  const organizationId = asked.organizationId ?? null;
  if (organizationId !== null) {
    if (userId !== null) {
      throw new BadUserInputError('organizationId', 'pass userId or organizationId, not both');
    }
    checkOrganizationId(organizationId);
    assertCanReadEveryone(caller, "an organization's events");
    return { organizationId };
  }
  if (userId !== null) {
    checkUserId(userId);
    assertCanReadEvents(caller, userId);
    return { userId };
  }
  assertAuthenticated(caller);
  return canReadEveryone(caller) ? null : { userId: caller.subject! };
}

/** The error an access check throws, as a value: batch loaders answer each key on its own. */
export function accessProblem(check: () => void): Error | null {
  try {
    check();
    return null;
  } catch (error) {
    return error as Error;
  }
}
