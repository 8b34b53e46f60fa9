import type { Filter } from 'scim2-parse-filter';
import { parse } from 'scim2-parse-filter';

import { ScimError } from './errors';
import { GROUP_SCHEMA, USER_SCHEMA } from './schemas';

/** A filter this service can answer from its indexed columns: `eq` comparisons joined by `and` / `or`. */
export type Condition<A extends string> =
  { attribute: A; value: string } | { and: Condition<A>[] } | { or: Condition<A>[] };

/** Longer filters, or more comparisons than this, are refused: none a provider sends comes near. */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_COMPARISONS = 50;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

export const USER_FILTER_ATTRIBUTES = ['id', 'userName', 'externalId', 'displayName'] as const;
export const GROUP_FILTER_ATTRIBUTES = ['id', 'displayName', 'externalId'] as const;

/**
 * Parses a `filter` (RFC 7644 §3.4.2.2) with scim2-parse-filter and keeps it only if every comparison is `eq` on
 * one of `attributes` (matched case-insensitively, with or without the core schema's URN) against a string.
 * Anything else is a 400 `invalidFilter` naming what is supported, rather than an answer that ignores part of it.
 */
export function parseFilter<A extends string>(text: string, attributes: readonly A[]): Condition<A> {
  if (text.length > MAX_FILTER_LENGTH) {
    throw ScimError.badRequest('invalidFilter', `A filter may be at most ${MAX_FILTER_LENGTH} characters`);
  }
  // scim2-parse-filter's string pattern backtracks exponentially on an unclosed quote before line breaks (40
  // of them blocked the process for minutes); no filter needs a control character.
  if (CONTROL_CHARACTER.test(text)) {
    throw ScimError.badRequest(
      'invalidFilter',
      'A filter may not hold control characters (line breaks, tabs)',
    );
  }
  let parsed: Filter;
  try {
    parsed = parse(text);
  } catch (error) {
    throw ScimError.badRequest('invalidFilter', `The filter cannot be parsed: ${(error as Error).message}`);
  }
  let comparisons = 0;
  const supported = () =>
    `supported: eq on ${attributes.join(', ')}, joined by and / or (e.g. userName eq "alice@example.com")`;
  const convert = (filter: Filter): Condition<A> => {
    if (filter.op === 'and' || filter.op === 'or') {
      const parts = filter.filters.map(convert);
      return filter.op === 'and' ? { and: parts } : { or: parts };
    }
    if (filter.op !== 'eq') {
      throw ScimError.badRequest(
        'invalidFilter',
        `The operator "${filter.op}" is not supported; ${supported()}`,
      );
    }
    comparisons += 1;
    if (comparisons > MAX_FILTER_COMPARISONS) {
      throw ScimError.badRequest(
        'invalidFilter',
        `A filter may hold at most ${MAX_FILTER_COMPARISONS} comparisons`,
      );
    }
    const attribute = attributes.find((name) => name.toLowerCase() === withoutCoreSchema(filter.attrPath));
    if (attribute === undefined) {
      throw ScimError.badRequest(
        'invalidFilter',
        `Filtering on "${filter.attrPath}" is not supported; ${supported()}`,
      );
    }
    if (typeof filter.compValue !== 'string') {
      throw ScimError.badRequest('invalidFilter', `${attribute} is compared with a string ("...")`);
    }
    return { attribute, value: filter.compValue };
  };
  return convert(parsed);
}

function withoutCoreSchema(path: string): string {
  const lower = path.toLowerCase();
  for (const schema of [USER_SCHEMA, GROUP_SCHEMA]) {
    const prefix = `${schema.toLowerCase()}:`;
    if (lower.startsWith(prefix)) return lower.slice(prefix.length);
  }
  return lower;
}
