import {
  assertAuthenticated,
  assertCanReadEvents,
  assertCanReadEveryone,
  assertCanReadUser,
  assertScope,
  canReadUser,
  eventFilterFor,
} from '../../src/auth/access';
import type { Caller } from '../../src/auth/caller';
import { authenticated, unauthenticated } from '../../src/auth/caller';

const anonymous = unauthenticated('A bearer token is required');
const alice = authenticated('alice', [], null);
const reader = authenticated('svc', ['entitlements:read'], null);
const writer = authenticated('admin', ['entitlements:write'], null);
const meter = authenticated('meter', ['usage:write'], null);

const codeOf = (check: () => void): string | null => {
  try {
    check();
    return null;
  } catch (error) {
    return (error as { extensions: { code: string } }).extensions.code;
  }
};

describe('access rules', () => {
  it('require a verified subject, and pass on why it is missing', () => {
    expect(codeOf(() => assertAuthenticated(anonymous))).toBe('UNAUTHENTICATED');
    expect(() => assertAuthenticated(unauthenticated('The token has expired'))).toThrow(
      'The token has expired',
    );
    expect(codeOf(() => assertAuthenticated(alice))).toBeNull();
  });

  it.each<[string, Caller, string | null]>([
    ['no token', anonymous, 'UNAUTHENTICATED'],
    ['no scope', alice, 'FORBIDDEN'],
    ['another scope', meter, 'FORBIDDEN'],
    ['the scope', writer, null],
  ])('let a write through only with entitlements:write (%s)', (_name, caller, code) => {
    expect(codeOf(() => assertScope(caller, 'entitlements:write'))).toBe(code);
  });

  it.each<[string, Caller, string, boolean]>([
    ['a user, its own fields', alice, 'alice', true],
    ['a user, another user', alice, 'bob', false],
    ['a reader, anyone', reader, 'bob', true],
    ['a writer, anyone', writer, 'bob', true],
    ['a usage meter, anyone', meter, 'bob', false],
    ['no token, anyone', anonymous, 'alice', false],
  ])('decide who reads a user: %s', (_name, caller, userId, allowed) => {
    expect(canReadUser(caller, userId)).toBe(allowed);
    expect(codeOf(() => assertCanReadUser(caller, userId))).toBe(
      allowed ? null : caller.subject ? 'FORBIDDEN' : 'UNAUTHENTICATED',
    );
  });

  it.each<[string, Caller, string | null, string | null]>([
    ['own events', alice, 'alice', null],
    ["another user's events", alice, 'bob', 'FORBIDDEN'],
    ["everyone's events without a scope", alice, null, 'FORBIDDEN'],
    ["everyone's events with entitlements:read", reader, null, null],
    ['no token', anonymous, 'alice', 'UNAUTHENTICATED'],
  ])('decide who reads the audit trail: %s', (_name, caller, userId, code) => {
    expect(codeOf(() => assertCanReadEvents(caller, userId))).toBe(code);
  });

  it.each<[string, Caller, string | null]>([
    ['a reader', reader, null],
    ['a writer', writer, null],
    ['a user', alice, 'FORBIDDEN'],
    ['a usage meter', meter, 'FORBIDDEN'],
    ['no token', anonymous, 'UNAUTHENTICATED'],
  ])('decide who reads what belongs to no one user, such as webhooks: %s', (_name, caller, code) => {
    expect(codeOf(() => assertCanReadEveryone(caller, 'webhooks'))).toBe(code);
  });
});

describe('whose events a subscription follows', () => {
  it.each([
    ['alice, userId omitted', alice, {}, { userId: 'alice' }],
    ['alice, her own id', alice, { userId: 'alice' }, { userId: 'alice' }],
    ['a reader, userId omitted: everyone', reader, { userId: null }, null],
    ['a reader, one user', reader, { userId: 'bob' }, { userId: 'bob' }],
    ['a writer, userId omitted: everyone', writer, {}, null],
    ['a reader, one organization', reader, { organizationId: 'acme' }, { organizationId: 'acme' }],
  ] as const)('%s', (_case, caller, asked, follows) => {
    expect(eventFilterFor(caller, asked)).toEqual(follows);
  });

  it.each([
    ['anonymous', anonymous, {}, 'UNAUTHENTICATED'],
    ["alice, bob's events", alice, { userId: 'bob' }, 'FORBIDDEN'],
    ['a meter, another user', meter, { userId: 'alice' }, 'FORBIDDEN'],
    ['a reader, an id that is no user id', reader, { userId: '' }, 'BAD_USER_INPUT'],
    ["alice, an organization's events", alice, { organizationId: 'acme' }, 'FORBIDDEN'],
    [
      'a reader, a user and an organization at once',
      reader,
      { userId: 'bob', organizationId: 'acme' },
      'BAD_USER_INPUT',
    ],
    ['a reader, an id that is no organization id', reader, { organizationId: '' }, 'BAD_USER_INPUT'],
  ] as const)('refuses %s', (_case, caller, asked, code) => {
    expect(codeOf(() => eventFilterFor(caller, asked))).toBe(code);
  });
});
