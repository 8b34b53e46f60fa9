import type { Feature, FeatureKind, JsonValue } from '../../src/domain/types';
import {
  checkAlertThresholds,
  checkAlertThresholdsFit,
  checkAmount,
  checkCursor,
  checkDate,
  checkFitsKind,
  checkFutureDate,
  checkGrantWindow,
  checkIdempotencyKey,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkOverrideFits,
  checkPageSize,
  checkRequiredText,
  checkText,
  checkUserId,
  MAX_JSON_BYTES,
  MAX_JSON_DEPTH,
  userIdProblem,
} from '../../src/domain/validation';
import { BadUserInputError } from '../../src/errors';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);

function feature(key: string, kind: FeatureKind): Feature {
  return { key, kind, description: null, usagePeriod: 'MONTH', meterScope: 'USER', alertThresholds: [] };
}

/** Runs `fn`, expects a BAD_USER_INPUT naming `field`, and returns the error for further checks. */
function expectBadInput(fn: () => unknown, field: string): BadUserInputError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadUserInputError);
  const error = thrown as BadUserInputError;
  expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(error.field).toBe(field);
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}

/** JSON.stringify of a string of n ASCII letters is n + 2 bytes (the quotes). */
const jsonString = (bytes: number) => 'a'.repeat(bytes - 2);

describe('user ids (1 to 128 characters)', () => {
  it('refuses an empty user id', () => {
    expectBadInput(() => checkUserId(''), 'userId');
    expect(userIdProblem('')).not.toBeNull();
  });

  it('accepts 1 and 128 characters', () => {
    expect(checkUserId('u')).toBe('u');
    expect(checkUserId('u'.repeat(128))).toBe('u'.repeat(128));
    expect(userIdProblem('u'.repeat(128))).toBeNull();
  });

  it('refuses 129 characters', () => {
    expectBadInput(() => checkUserId('u'.repeat(129)), 'userId');
    expect(userIdProblem('u'.repeat(129))).toEqual(expect.any(String));
  });

  it('names the field it was given', () => {
    expectBadInput(() => checkUserId('', 'input.userId'), 'input.userId');
  });

  it.each(['x\ud800', 'x\udfff', '\udfff\ud800', 'a\ud83dz'])(
    'refuses an unpaired surrogate (MySQL would store U+FFFD): %j',
    (userId) => {
      expectBadInput(() => checkUserId(userId), 'userId');
      expect(userIdProblem(userId)).toMatch(/well-formed/);
    },
  );

  it('accepts characters outside the BMP (paired surrogates) and U+FFFD itself', () => {
    expect(checkUserId('x\ud83d\ude00')).toBe('x😀');
    expect(checkUserId('x\ufffd')).toBe('x\ufffd');
    expect(checkUserId('😀'.repeat(128))).toHaveLength(256);
  });
});

describe('feature and tier keys (^[a-z][a-z0-9_.:-]{0,63}$)', () => {
  it('accepts a single lowercase letter', () => {
    expect(checkKey('a', 'feature')).toBe('a');
  });

  it('accepts every allowed character after the first', () => {
    expect(checkKey('api.v2:read-all_9', 'feature')).toBe('api.v2:read-all_9');
  });

  it('accepts 64 characters', () => {
    const key = 'k' + 'x'.repeat(63);
    expect(checkKey(key, 'feature')).toBe(key);
  });

  it('refuses 65 characters', () => {
    expectBadInput(() => checkKey('k' + 'x'.repeat(64), 'feature'), 'feature');
  });

  it('refuses uppercase letters anywhere', () => {
    expectBadInput(() => checkKey('Api', 'feature'), 'feature');
    expectBadInput(() => checkKey('apI', 'tier'), 'tier');
  });

  it('refuses a leading digit or symbol', () => {
    expectBadInput(() => checkKey('1api', 'feature'), 'feature');
    expectBadInput(() => checkKey('_api', 'feature'), 'feature');
    expectBadInput(() => checkKey('.api', 'feature'), 'feature');
  });

  it('refuses empty keys, spaces, other symbols and a trailing newline', () => {
    for (const key of ['', 'api key', 'api/v2', 'api!', 'api\n', 'café']) {
      expectBadInput(() => checkKey(key, 'input.key'), 'input.key');
    }
  });
});

describe('limits (>= 0)', () => {
  it('treats null and undefined as no limit', () => {
    expect(checkLimit(null)).toBeNull();
    expect(checkLimit(undefined)).toBeNull();
  });

  it('accepts 0', () => {
    expect(checkLimit(0)).toBe(0);
  });

  it('refuses -1', () => {
    expectBadInput(() => checkLimit(-1), 'limit');
  });

  it('refuses a fraction', () => {
    expectBadInput(() => checkLimit(1.5), 'limit');
  });

  it('names the field it was given', () => {
    expectBadInput(() => checkLimit(-1, 'entitlements[2].limit'), 'entitlements[2].limit');
  });
});

describe('free text (at most 1,000 characters)', () => {
  it('treats null and undefined as absent', () => {
    expect(checkText(null, 'reason')).toBeNull();
    expect(checkText(undefined, 'reason')).toBeNull();
  });

  it('accepts 1,000 characters', () => {
    expect(checkText('r'.repeat(1000), 'reason')).toBe('r'.repeat(1000));
  });

  it('refuses 1,001 characters', () => {
    expectBadInput(() => checkText('r'.repeat(1001), 'reason'), 'reason');
  });

  it('requires a non-blank text where one is mandatory', () => {
    expect(checkRequiredText('x', 'reason')).toBe('x');
    expect(checkRequiredText('r'.repeat(1000), 'reason')).toHaveLength(1000);
    expectBadInput(() => checkRequiredText('', 'reason'), 'reason');
    expectBadInput(() => checkRequiredText(' \t\n', 'reason'), 'reason');
    expectBadInput(() => checkRequiredText('r'.repeat(1001), 'reason'), 'reason');
  });

  it('refuses an unpaired surrogate, and accepts a pair', () => {
    expectBadInput(() => checkText('why\ud800', 'reason'), 'reason');
    expectBadInput(() => checkRequiredText('why\udfff', 'reason'), 'reason');
    expect(checkText('why \ud83d\ude00', 'description')).toBe('why 😀');
  });
});

describe('JSON values (at most 16 KiB of UTF-8 JSON)', () => {
  it('treats null and undefined as no value', () => {
    expect(checkJsonValue(null)).toBeNull();
    expect(checkJsonValue(undefined)).toBeNull();
  });

  it('keeps falsy values as they are', () => {
    expect(checkJsonValue(false)).toBe(false);
    expect(checkJsonValue(0)).toBe(0);
    expect(checkJsonValue('')).toBe('');
  });

  it('accepts exactly 16 KiB', () => {
    const value = jsonString(MAX_JSON_BYTES);
    expect(MAX_JSON_BYTES).toBe(16384);
    expect(Buffer.byteLength(JSON.stringify(value), 'utf8')).toBe(16384);
    expect(checkJsonValue(value)).toBe(value);
  });

  it('refuses one byte over 16 KiB', () => {
    expectBadInput(() => checkJsonValue(jsonString(MAX_JSON_BYTES + 1)), 'value');
  });

  it('measures an object by its JSON text', () => {
    // {"k":"…"} is 8 bytes around the string.
    const fits = { k: 'x'.repeat(16384 - 8) };
    expect(checkJsonValue(fits)).toBe(fits);
    expectBadInput(() => checkJsonValue({ k: 'x'.repeat(16384 - 7) }), 'value');
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 'é' is one UTF-16 unit but two UTF-8 bytes: 8191 of them plus quotes make 16,384 bytes.
    const fits = 'é'.repeat(8191);
    expect(checkJsonValue(fits)).toBe(fits);
    const over = 'é'.repeat(8191) + 'a';
    expect(over.length).toBeLessThan(MAX_JSON_BYTES);
    expectBadInput(() => checkJsonValue(over), 'value');
  });

  it('accepts 32 levels of nesting and refuses 33, however deep the value', () => {
    const nested = (depth: number, leaf: JsonValue = 1): JsonValue =>
      Array.from({ length: depth }).reduce<JsonValue>(
        (inner, _, level) => (level % 2 ? [inner] : { k: inner }),
        leaf,
      );
    expect(MAX_JSON_DEPTH).toBe(32);
    expect(checkJsonValue(nested(32))).toEqual(nested(32));
    expect(checkJsonValue(nested(31, []))).toEqual(nested(31, []));
    expectBadInput(() => checkJsonValue(nested(33)), 'value');
    expectBadInput(() => checkJsonValue(nested(32, {})), 'value');
    expectBadInput(() => checkJsonValue(nested(100_000), 'entitlements[0].value'), 'entitlements[0].value');
  });

  it('counts JSON escapes as the bytes they take', () => {
    // Each newline serialises as the two characters \n.
    expect(checkJsonValue('\n'.repeat(8191))).toBe('\n'.repeat(8191));
    expectBadInput(() => checkJsonValue('\n'.repeat(8192)), 'value');
  });

  it('names the field it was given', () => {
    expectBadInput(
      () => checkJsonValue(jsonString(MAX_JSON_BYTES + 1), 'entitlements[0].value'),
      'entitlements[0].value',
    );
  });
});

describe('page size (first: 1 to 1,000)', () => {
  it('refuses 0', () => {
    expectBadInput(() => checkPageSize(0), 'first');
  });

  it('accepts 1 and 1,000', () => {
    expect(checkPageSize(1)).toBe(1);
    expect(checkPageSize(1000)).toBe(1000);
  });

  it('refuses 1,001', () => {
    expectBadInput(() => checkPageSize(1001), 'first');
  });

  it('refuses negatives, fractions and NaN', () => {
    for (const first of [-1, 1.5, Number.NaN]) expectBadInput(() => checkPageSize(first), 'first');
  });
});

describe('event cursors (after)', () => {
  it('starts from the beginning without a cursor', () => {
    expect(checkCursor(null)).toBe(0);
    expect(checkCursor(undefined)).toBe(0);
  });

  it('reads an event id', () => {
    expect(checkCursor('0')).toBe(0);
    expect(checkCursor('42')).toBe(42);
    expect(checkCursor('999999999999999')).toBe(999_999_999_999_999);
  });

  it('refuses anything that is not an event id', () => {
    for (const after of ['', 'abc', '-1', '1.5', ' 1', '1e3', '0x10', '1234567890123456']) {
      expectBadInput(() => checkCursor(after), 'after');
    }
  });

  it('names the field it was given', () => {
    expectBadInput(() => checkCursor('x', 'cursor'), 'cursor');
  });
});

describe('grant windows', () => {
  it('accepts a grant without expiry', () => {
    expect(() => checkGrantWindow(NOW, null, NOW)).not.toThrow();
  });

  it('accepts an expiry one millisecond in the future after a past start', () => {
    expect(() => checkGrantWindow(plus(NOW, -1000), plus(NOW, 1), NOW)).not.toThrow();
  });

  it('accepts a future window', () => {
    expect(() => checkGrantWindow(plus(NOW, 1000), plus(NOW, 2000), NOW)).not.toThrow();
  });

  it('refuses an expiry equal to the start', () => {
    const startsAt = plus(NOW, 60_000);
    expectBadInput(() => checkGrantWindow(startsAt, startsAt, NOW), 'expiresAt');
  });

  it('refuses an expiry before the start', () => {
    expectBadInput(() => checkGrantWindow(plus(NOW, 2000), plus(NOW, 1000), NOW), 'expiresAt');
  });

  it('refuses an expiry in the past', () => {
    expectBadInput(() => checkGrantWindow(plus(NOW, -2000), plus(NOW, -1000), NOW), 'expiresAt');
  });

  it('refuses an expiry exactly now', () => {
    expectBadInput(() => checkGrantWindow(plus(NOW, -2000), NOW, NOW), 'expiresAt');
  });
});

describe('future dates', () => {
  it('accepts one millisecond from now', () => {
    expect(checkFutureDate(plus(NOW, 1), 'endsAt', NOW)).toEqual(plus(NOW, 1));
  });

  it('refuses now and the past', () => {
    expectBadInput(() => checkFutureDate(NOW, 'endsAt', NOW), 'endsAt');
    expectBadInput(() => checkFutureDate(plus(NOW, -1), 'endsAt', NOW), 'endsAt');
  });
});

describe('checkFitsKind', () => {
  const metered = feature('api', 'METERED');
  const boolean = feature('sso', 'BOOLEAN');
  const config = feature('theme', 'CONFIG');

  it('accepts a limit on a METERED feature and a value on a CONFIG feature', () => {
    expect(() => checkFitsKind(metered, { limit: 10, value: null })).not.toThrow();
    expect(() => checkFitsKind(metered, { limit: 0, value: null })).not.toThrow();
    expect(() => checkFitsKind(config, { limit: null, value: { color: 'red' } })).not.toThrow();
  });

  it('accepts neither limit nor value on any kind', () => {
    for (const f of [metered, boolean, config]) {
      expect(() => checkFitsKind(f, { limit: null, value: null })).not.toThrow();
    }
  });

  it('refuses a limit on a BOOLEAN or CONFIG feature', () => {
    expectBadInput(() => checkFitsKind(boolean, { limit: 5, value: null }), 'limit');
    expectBadInput(() => checkFitsKind(config, { limit: 0, value: null }), 'limit');
  });

  it('refuses a value on a METERED or BOOLEAN feature, even a falsy one', () => {
    expectBadInput(() => checkFitsKind(metered, { limit: null, value: 'x' }), 'value');
    expectBadInput(() => checkFitsKind(boolean, { limit: null, value: false }), 'value');
  });

  it('prefixes the field when given a prefix', () => {
    expectBadInput(
      () => checkFitsKind(boolean, { limit: 1, value: null }, 'entitlements[3]'),
      'entitlements[3].limit',
    );
    expectBadInput(
      () => checkFitsKind(metered, { limit: null, value: 1 }, 'entitlements[0]'),
      'entitlements[0].value',
    );
  });

  it('mentions the feature and its kind in the message', () => {
    const error = expectBadInput(() => checkFitsKind(boolean, { limit: 1, value: null }), 'limit');
    expect(error.message).toContain('sso');
    expect(error.message).toContain('BOOLEAN');
  });
});

describe('usage amounts (1 to 1,000,000,000)', () => {
  it.each([1, 1_000_000_000])('accepts %d', (amount) => {
    expect(checkAmount(amount)).toBe(amount);
  });

  it.each([0, -1, 1_000_000_001, 1.5])('refuses %d', (amount) => {
    expectBadInput(() => checkAmount(amount), 'amount');
  });
});

describe('idempotency keys (1 to 255 characters, optional)', () => {
  it('accepts none, and keys of 1 and 255 characters', () => {
    expect(checkIdempotencyKey(undefined)).toBeNull();
    expect(checkIdempotencyKey('k')).toBe('k');
    expect(checkIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
  });

  it.each(['', 'k'.repeat(256), 'k\ud800'])('refuses a key of %#', (key) => {
    expectBadInput(() => checkIdempotencyKey(key), 'idempotencyKey');
  });
});

describe('dates (1970 to 9999)', () => {
  it('accepts the bounds', () => {
    expect(checkDate(new Date(0), 'startsAt')).toEqual(new Date(0));
    expect(checkDate(new Date('9999-12-31T23:59:59.999Z'), 'startsAt')).toBeInstanceOf(Date);
  });

  it('refuses a date before 1970 or after 9999', () => {
    expectBadInput(() => checkDate(new Date(-1), 'startsAt'), 'startsAt');
    expectBadInput(() => checkDate(new Date('+010000-01-01T00:00:00Z'), 'expiresAt'), 'expiresAt');
  });
});

describe('alert thresholds (integers 1 to 99, unique, at most 10)', () => {
  it('accepts none, and ten from 1 to 99, returned in order', () => {
    expect(checkAlertThresholds([])).toEqual([]);
    expect(checkAlertThresholds([99, 1, 50, 2, 3, 4, 5, 6, 7, 8])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 50, 99]);
  });

  it.each<[string, number[], string]>([
    ['0', [50, 0], 'alertThresholds.1'],
    ['100', [100], 'alertThresholds.0'],
    ['a negative one', [-1], 'alertThresholds.0'],
    ['a fraction', [12.5], 'alertThresholds.0'],
    ['duplicates', [50, 80, 50], 'alertThresholds'],
    ['eleven', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'alertThresholds'],
  ])('refuses %s', (_case, thresholds, field) => {
    expectBadInput(() => checkAlertThresholds(thresholds), field);
  });

  it('go with METERED features only', () => {
    const withThresholds = (kind: FeatureKind) => ({ ...feature('f', kind), alertThresholds: [50] });
    expect(() => checkAlertThresholdsFit(withThresholds('METERED'))).not.toThrow();
    expectBadInput(() => checkAlertThresholdsFit(withThresholds('BOOLEAN')), 'alertThresholds');
    expectBadInput(() => checkAlertThresholdsFit(withThresholds('CONFIG')), 'alertThresholds');
    expect(() => checkAlertThresholdsFit(feature('f', 'BOOLEAN'))).not.toThrow();
  });
});

describe('checkOverrideFits (rule V1)', () => {
  const metered = feature('api', 'METERED');
  const pooled: Feature = { ...metered, key: 'credits', meterScope: 'ORGANIZATION' };
  const override = (
    effect: 'DENY' | 'LIMIT' | 'VALUE',
    limit: number | null = null,
    value: JsonValue = null,
  ) => ({
    effect,
    limit,
    value,
  });

  it.each<[string, Feature, ReturnType<typeof override>]>([
    ['DENY on BOOLEAN', feature('sso', 'BOOLEAN'), override('DENY')],
    ['DENY on METERED', metered, override('DENY')],
    ['DENY on CONFIG', feature('theme', 'CONFIG'), override('DENY')],
    ['DENY on a pooled feature', pooled, override('DENY')],
    ['LIMIT on METERED', metered, override('LIMIT', 5)],
    ['LIMIT null (unlimited) on METERED', metered, override('LIMIT')],
    ['VALUE on CONFIG', feature('theme', 'CONFIG'), override('VALUE', null, { dark: true })],
    ['VALUE null on CONFIG', feature('theme', 'CONFIG'), override('VALUE')],
  ])('accepts %s', (_case, f, o) => {
    expect(() => checkOverrideFits(f, o)).not.toThrow();
  });

  it.each<[string, Feature, ReturnType<typeof override>, string]>([
    ['LIMIT on BOOLEAN', feature('sso', 'BOOLEAN'), override('LIMIT', 5), 'effect'],
    ['LIMIT on CONFIG', feature('theme', 'CONFIG'), override('LIMIT', 5), 'effect'],
    ['LIMIT on a pooled feature', pooled, override('LIMIT', 5), 'effect'],
    ['VALUE on BOOLEAN', feature('sso', 'BOOLEAN'), override('VALUE', null, 1), 'effect'],
    ['VALUE on METERED', metered, override('VALUE', null, 1), 'effect'],
    ['DENY with a limit', metered, override('DENY', 5), 'limit'],
    [
      'DENY with a value, even a falsy one',
      feature('theme', 'CONFIG'),
      override('DENY', null, false),
      'value',
    ],
    ['LIMIT with a value', metered, override('LIMIT', 5, 'x'), 'value'],
    ['VALUE with a limit', feature('theme', 'CONFIG'), override('VALUE', 0, 'x'), 'limit'],
  ])('refuses %s', (_case, f, o, field) => {
    expectBadInput(() => checkOverrideFits(f, o), field);
  });
});
