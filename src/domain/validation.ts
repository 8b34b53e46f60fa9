import { BadUserInputError } from '../errors';
import type { Feature, JsonValue } from './types';

/**
 * The input bounds (the README's rule "Input bounds"). Each check throws BAD_USER_INPUT naming the field,
 * before anything is written.
 */

export const KEY_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const MAX_USER_ID_LENGTH = 128;
export const MAX_TEXT_LENGTH = 1000;
export const MAX_JSON_BYTES = 16 * 1024;
export const MAX_PAGE_SIZE = 1000;
export const MAX_USAGE_AMOUNT = 1_000_000_000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** A license token's lifetime (the contract's T1). */
export const MIN_TOKEN_TTL_SECONDS = 60;
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const MAX_TOKEN_TTL_SECONDS = 86_400;
export const MAX_AUDIENCE_LENGTH = 255;

/** Length in characters (code points), as the database counts them; `.length` counts UTF-16 units. */
const characters = (text: string) => [...text].length;

/**
 * An unpaired surrogate is not a character: MySQL stores each as U+FFFD, so "x\ud800" and "x\udfff" would
 * be one identity there. (The `u` flag matches surrogates only when they are not part of a pair.)
 */
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;
export const isWellFormedText = (text: string) => !UNPAIRED_SURROGATE.test(text);
const notWellFormed = (field: string) =>
  `${field} must be well-formed Unicode text (it has an unpaired surrogate)`;

export function userIdProblem(userId: string, what = 'a user id'): string | null {
  const length = characters(userId);
  if (length < 1 || length > MAX_USER_ID_LENGTH)
    return `${what} must be 1 to ${MAX_USER_ID_LENGTH} characters`;
  return isWellFormedText(userId) ? null : notWellFormed(what);
}

export function checkUserId(userId: string, field = 'userId'): string {
  const problem = userIdProblem(userId);
  if (problem !== null) throw new BadUserInputError(field, problem);
  return userId;
}

/** Organization ids follow the rule for user ids: both belong to other subgraphs. */
export function organizationIdProblem(organizationId: string): string | null {
  return userIdProblem(organizationId, 'an organization id');
}

export function checkOrganizationId(organizationId: string, field = 'organizationId'): string {
  const problem = organizationIdProblem(organizationId);
  if (problem !== null) throw new BadUserInputError(field, problem);
  return organizationId;
}

export function checkKey(key: string, field: string): string {
  if (!KEY_PATTERN.test(key)) throw new BadUserInputError(field, `${field} must match ${KEY_PATTERN.source}`);
  return key;
}

export function checkLimit(limit: number | null | undefined, field = 'limit'): number | null {
  if (limit === null || limit === undefined) return null;
  if (!Number.isInteger(limit) || limit < 0) throw new BadUserInputError(field, `${field} must be 0 or more`);
  return limit;
}

/** Reasons and descriptions: optional free text of at most 1,000 characters. */
export function checkText(
  text: string | null | undefined,
  field: string,
  max = MAX_TEXT_LENGTH,
): string | null {
  if (text === null || text === undefined) return null;
  if (characters(text) > max)
    throw new BadUserInputError(field, `${field} must be at most ${max} characters`);
  if (!isWellFormedText(text)) throw new BadUserInputError(field, notWellFormed(field));
  return text;
}

export function checkRequiredText(text: string, field: string, max = MAX_TEXT_LENGTH): string {
  if (text.trim().length === 0) throw new BadUserInputError(field, `${field} must not be empty`);
  return checkText(text, field, max) as string;
}

/** Arrays and objects nested deeper than this are refused (measuring them would overflow the stack). */
export const MAX_JSON_DEPTH = 32;

/** Whether arrays and objects nest deeper than `max`; walked without recursion, however deep the value. */
function nestsDeeperThan(value: JsonValue, max: number): boolean {
  const pending: { value: JsonValue; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    const depth = next.depth + 1;
    if (depth > max) return true;
    for (const inner of Object.values(next.value)) pending.push({ value: inner, depth });
  }
  return false;
}

export function checkJsonValue(value: JsonValue | undefined, field = 'value'): JsonValue {
  if (value === null || value === undefined) return null;
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new BadUserInputError(
      field,
      `${field} must not nest arrays and objects more than ${MAX_JSON_DEPTH} deep`,
    );
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_JSON_BYTES) {
    throw new BadUserInputError(field, `${field} must be at most ${MAX_JSON_BYTES} bytes of JSON`);
  }
  return value;
}

/** The page size when a caller gives none, in every paged field. */
export const DEFAULT_PAGE_SIZE = 100;

export function checkPageSize(first: number, field = 'first'): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(field, `${field} must be 1 to ${MAX_PAGE_SIZE}`);
  }
  return first;
}

export function checkAmount(amount: number, field = 'amount'): number {
  if (!Number.isInteger(amount) || amount < 1 || amount > MAX_USAGE_AMOUNT) {
    throw new BadUserInputError(field, `${field} must be 1 to ${MAX_USAGE_AMOUNT.toLocaleString('en')}`);
  }
  return amount;
}

export function checkIdempotencyKey(key: string | null | undefined, field = 'idempotencyKey'): string | null {
  if (key === null || key === undefined) return null;
  const length = characters(key);
  if (length < 1 || length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadUserInputError(field, `${field} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (!isWellFormedText(key)) throw new BadUserInputError(field, notWellFormed(field));
  return key;
}

export function checkTokenTtl(ttlSeconds: number, field = 'ttlSeconds'): number {
  if (
    !Number.isInteger(ttlSeconds) ||
    ttlSeconds < MIN_TOKEN_TTL_SECONDS ||
    ttlSeconds > MAX_TOKEN_TTL_SECONDS
  ) {
    throw new BadUserInputError(
      field,
      `${field} must be ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS.toLocaleString('en')}`,
    );
  }
  return ttlSeconds;
}

/** Event ids are positive integers; `after` is one of them (or 0 for "from the start"). */
export function checkCursor(after: string | null | undefined, field = 'after', of = 'an event id'): number {
  if (after === null || after === undefined) return 0;
  if (!/^\d{1,15}$/.test(after)) throw new BadUserInputError(field, `${field} must be ${of}`);
  return Number(after);
}

/** A grant's window must end after it starts, and in the future. */
export function checkGrantWindow(startsAt: Date, expiresAt: Date | null, now: Date): void {
  if (expiresAt === null) return;
  if (expiresAt <= startsAt) throw new BadUserInputError('expiresAt', 'expiresAt must be after startsAt');
  if (expiresAt <= now) throw new BadUserInputError('expiresAt', 'expiresAt must be in the future');
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Dates between 1970 and 9999: what every supported database stores and reads back unchanged. */
export function checkDate(date: Date, field: string): Date {
  if (date.getTime() < EARLIEST || date.getTime() > LATEST) {
    throw new BadUserInputError(field, `${field} must be between 1970 and 9999`);
  }
  return date;
}

export function checkFutureDate(date: Date, field: string, now: Date): Date {
  if (date <= now) throw new BadUserInputError(field, `${field} must be in the future`);
  return date;
}

export const MAX_ALERT_THRESHOLDS = 10;

/** Usage alert thresholds: percentages of the limit, integers 1 to 99, unique, at most ten; kept in order. */
export function checkAlertThresholds(thresholds: number[], field = 'alertThresholds'): number[] {
  if (thresholds.length > MAX_ALERT_THRESHOLDS) {
    throw new BadUserInputError(field, `at most ${MAX_ALERT_THRESHOLDS} alert thresholds`);
  }
  thresholds.forEach((threshold, index) => {
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > 99) {
      throw new BadUserInputError(`${field}.${index}`, 'an alert threshold is a percentage from 1 to 99');
    }
  });
  if (new Set(thresholds).size !== thresholds.length) {
    throw new BadUserInputError(field, 'alert thresholds must be unique');
  }
  return [...thresholds].sort((a, b) => a - b);
}

/** Alerts are about limits, which only METERED features have. */
export function checkAlertThresholdsFit(feature: Feature): void {
  if (feature.alertThresholds.length > 0 && feature.kind !== 'METERED') {
    throw new BadUserInputError(
      'alertThresholds',
      `alert thresholds apply to METERED features; "${feature.key}" is ${feature.kind}`,
    );
  }
}

/**
 * An override's effect must fit the feature (rule V1): LIMIT a METERED feature counted per user (a pool's limit
 * belongs to its organization), VALUE a CONFIG one; DENY takes neither a limit nor a value.
 */
export function checkOverrideFits(
  feature: Feature,
  override: { effect: 'DENY' | 'LIMIT' | 'VALUE'; limit: number | null; value: JsonValue },
): void {
  const { effect } = override;
  if (effect === 'LIMIT' && feature.kind !== 'METERED') {
    throw new BadUserInputError(
      'effect',
      `LIMIT applies to METERED features; "${feature.key}" is ${feature.kind}`,
    );
  }
  if (effect === 'LIMIT' && feature.meterScope === 'ORGANIZATION') {
    throw new BadUserInputError(
      'effect',
      `"${feature.key}" counts in organization pools, whose limits belong to the organizations; DENY it or change the organization's grants`,
    );
  }
  if (effect === 'VALUE' && feature.kind !== 'CONFIG') {
    throw new BadUserInputError(
      'effect',
      `VALUE applies to CONFIG features; "${feature.key}" is ${feature.kind}`,
    );
  }
  if (effect !== 'LIMIT' && override.limit !== null) {
    throw new BadUserInputError('limit', `limit goes with the LIMIT effect only`);
  }
  if (effect !== 'VALUE' && override.value !== null) {
    throw new BadUserInputError('value', `value goes with the VALUE effect only`);
  }
}

/** Only a metered feature can count in organization pools. */
export function checkMeterScope(feature: Feature): void {
  if (feature.meterScope === 'ORGANIZATION' && feature.kind !== 'METERED') {
    throw new BadUserInputError(
      'meterScope',
      `meterScope ORGANIZATION applies to METERED features; "${feature.key}" is ${feature.kind}`,
    );
  }
}

/** A limit only means something for a METERED feature, a value only for a CONFIG one. */
export function checkFitsKind(
  feature: Feature,
  entry: { limit: number | null; value: JsonValue },
  fieldPrefix?: string,
): void {
  const field = (name: string) => (fieldPrefix ? `${fieldPrefix}.${name}` : name);
  if (entry.limit !== null && feature.kind !== 'METERED') {
    throw new BadUserInputError(
      field('limit'),
      `limit applies to METERED features; "${feature.key}" is ${feature.kind}`,
    );
  }
  if (entry.value !== null && feature.kind !== 'CONFIG') {
    throw new BadUserInputError(
      field('value'),
      `value applies to CONFIG features; "${feature.key}" is ${feature.kind}`,
    );
  }
}
