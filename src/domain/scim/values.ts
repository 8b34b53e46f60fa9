import type { JsonValue } from '../types';
import { isWellFormedText } from '../validation';
import { ScimError } from './errors';

export type JsonObject = { [key: string]: JsonValue };

/** Arrays and objects nested deeper than this are refused (the GraphQL API's JSON values have the same bound). */
export const MAX_BODY_DEPTH = 32;
/** Keys that reach an object's prototype: refused anywhere in a body before anything reads it. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Names that reach a built-in prototype from a JSON value (an object, array, string, number or boolean), in lower
 * case: `__proto__`, `constructor`, `hasOwnProperty`, `toString`, `push`, ... scim-patch follows a PATCH path, and
 * the keys of a value given without one, through whatever property a name finds, inherited ones included, and
 * writes at the end: `hasOwnProperty.call` would replace that function's `call` for the whole process. No SCIM
 * attribute has such a name, so a PATCH naming one is refused before the patch is applied.
 */
const PROTOTYPE_NAMES = new Set(
  [Object.prototype, Array.prototype, String.prototype, Number.prototype, Boolean.prototype]
    .flatMap((prototype) => Object.getOwnPropertyNames(prototype))
    .concat('prototype')
    .map((name) => name.toLowerCase()),
);

/**
 * The first name in `path` (split at every character scim-patch or a filter could split it at, quotes included:
 * scim-patch keeps a quoted part whole only in some places) that a prototype has, if any.
 */
const prototypeNameIn = (path: string, separators: RegExp) =>
  path.split(separators).find((name) => PROTOTYPE_NAMES.has(name.toLowerCase()));

/** A path's separators; a key's are the same but for white space, which a key walked by name may hold. */
const PATH_SEPARATORS = /[\s.:[\]"]+/;
const KEY_SEPARATORS = /[.:[\]"]+/;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A request body as JSON.parse gave it: an object, no deeper than MAX_BODY_DEPTH, without prototype keys. */
export function checkBody(body: unknown): JsonObject {
  if (!isObject(body)) throw ScimError.badRequest('invalidSyntax', 'The request body must be a JSON object');
  const pending: { value: unknown; depth: number }[] = [{ value: body, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth > MAX_BODY_DEPTH) {
      throw ScimError.badRequest('invalidSyntax', `The body nests more than ${MAX_BODY_DEPTH} levels`);
    }
    for (const [key, inner] of Object.entries(next.value)) {
      if (PROTOTYPE_KEYS.has(key))
        throw ScimError.badRequest('invalidSyntax', `"${key}" is not an attribute`);
      pending.push({ value: inner, depth: next.depth + 1 });
    }
  }
  return body;
}

/** Refuses a PATCH path any of whose names reaches a prototype (see PROTOTYPE_NAMES). */
export function checkPathNames(path: string): void {
  const name = prototypeNameIn(path, PATH_SEPARATORS);
  if (name !== undefined) throw ScimError.badRequest('invalidPath', `"${name}" is not an attribute`);
}

/**
 * Refuses an operation's object value any of whose keys names what a prototype has: scim-patch assigns each key
 * of an object value as a path of its own, into the document or into the item a path found (what lies deeper is
 * assigned whole).
 */
export function checkValueNames(value: JsonValue): void {
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    const name = prototypeNameIn(key, KEY_SEPARATORS);
    if (name !== undefined) throw ScimError.badRequest('invalidPath', `"${name}" is not an attribute`);
  }
}

/**
 * A boolean as identity providers send it: Entra ID has long sent `"active": "False"` and `"True"`, so the
 * strings true and false in any case count as the booleans.
 */
export function readBoolean(value: unknown, attribute: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw ScimError.badRequest('invalidValue', `${attribute} must be true or false`);
}

/** A string attribute: absent or null gives null; otherwise 1 to `max` characters of well-formed Unicode. */
export function readString(value: unknown, attribute: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0) {
    throw ScimError.badRequest('invalidValue', `${attribute} must be a non-empty string`);
  }
  if ([...value].length > max) {
    throw ScimError.badRequest('invalidValue', `${attribute} must be at most ${max} characters`);
  }
  if (!isWellFormedText(value)) {
    throw ScimError.badRequest('invalidValue', `${attribute} must be well-formed Unicode text`);
  }
  return value;
}

/**
 * The body's attributes with the names of `known` spelled as the schema spells them: attribute names are
 * case-insensitive (RFC 7643 §2.1), and a provider may send `UserName`.
 */
export function canonicalNames(body: JsonObject, known: readonly string[]): JsonObject {
  const byLowerCase = new Map(known.map((name) => [name.toLowerCase(), name]));
  return Object.fromEntries(
    Object.entries(body).map(([name, value]) => [byLowerCase.get(name.toLowerCase()) ?? name, value]),
  );
}
