import type { ScimPatchOperation } from 'scim-patch';
import { scimPatch } from 'scim-patch';

import type { JsonValue } from '../types';
import { ScimError } from './errors';
import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMAS,
  MAX_PATCH_OPERATIONS,
  SIMPLE_USER_ATTRIBUTES,
  USER_SCHEMAS,
} from './schemas';
import type { JsonObject } from './values';
import { checkPathNames, checkValueNames, isObject } from './values';

/*
 * Why scim-patch (with scim2-parse-filter, which it uses for value filters and filter.ts uses for `filter`):
 * schema-free functions over plain documents, tested against Azure AD's quirks, so storage, transactions and
 * errors stay ours. scimmy (+ scimmy-routers) was set aside: it owns the whole request (its own body parser and
 * router, built on Express 4), keeps its configuration and resource handlers in process-wide statics, and its
 * typed attributes refuse Entra's `"active": "False"` before our code could read it. scim-patch follows a path
 * through `constructor.prototype` into Object.prototype, so such paths are refused first (values.ts).
 */
const OPERATIONS = new Set(['add', 'replace', 'remove']);
const KNOWN_SCHEMAS = [...USER_SCHEMAS, ...GROUP_SCHEMAS];

/** The longest path an operation may name: real ones (an extension's URN, an attribute, a filter) are far shorter. */
const MAX_PATH_LENGTH = 1024;
/**
 * The most values the operations on other attributes than a Group's members may carry in all. scim-patch compares
 * each value it adds to a multi-valued attribute with every one there (quadratic); a User's emails or roles are a
 * handful, and what is stored of them at most 16 KiB anyway.
 */
const MAX_ATTRIBUTE_VALUES = 1000;

/**
 * `members`, alone or after the Group schema's URN; and the same with one value filter (`[value eq "id"]`, no
 * escapes), which only a remove has here (the other forms go to scim-patch, at the cost of one pass).
 */
const MEMBERS_PATH = /^(?:urn:ietf:params:scim:schemas:core:2\.0:group:)?members$/i;
const ONE_MEMBER_PATH =
  /^(?:urn:ietf:params:scim:schemas:core:2\.0:group:)?members\[\s*value\s+eq\s+"([^"\\]*)"\s*\]$/i;

type Operation = ScimPatchOperation & { value?: JsonValue };

/**
 * Applies a PatchOp body (RFC 7644 §3.5.2) to `document` and returns the patched copy. The operations are
 * applied in order by scim-patch (value filters in paths, PATCH without `path`, extension URNs), except those on a
 * Group's members, which are sets of ids here: scim-patch's duplicate check would cost the group's size for each
 * id added, and a directory's groups are large. Before that, what real providers send is made standard: `op` in
 * any case (Entra's "Replace", "Add"), a simple attribute's value wrapped as `[{"value": x}]` (Entra), and members
 * given with `$ref` / `display`, which only their `value` identifies. The caller then reads the result as it reads
 * a PUT, so a patch can never store what a PUT could not.
 */
export function applyPatch(document: JsonObject, body: JsonObject, schemas: readonly string[]): JsonObject {
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw ScimError.badRequest('invalidSyntax', 'A PATCH body needs "Operations": a non-empty array');
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw ScimError.badRequest('tooMany', `A PATCH may carry at most ${MAX_PATCH_OPERATIONS} operations`);
  }
  const normalized = operations.flatMap((operation, index) =>
    splitMembers(normalizeOperation(operation, index, schemas)),
  );
  const attributeValues = normalized
    .filter((operation) => !isMembersOperation(operation))
    .reduce((sum, operation) => sum + valueCount(operation.value), 0);
  if (attributeValues > MAX_ATTRIBUTE_VALUES) {
    throw ScimError.badRequest(
      'tooMany',
      `A PATCH may carry at most ${MAX_ATTRIBUTE_VALUES} attribute values`,
    );
  }
  let patched = JSON.parse(JSON.stringify(document)) as JsonObject;
  // The members as a set while operations on them follow one another, written back before any other.
  let members: Set<string> | null = null;
  for (const operation of normalized) {
    if (isMembersOperation(operation)) {
      members = patchMembers(members ?? new Set(memberIds(patched.members ?? [])), operation);
      continue;
    }
    if (members) {
      patched.members = membersOf(members);
      members = null;
    }
    try {
      patched = scimPatch(patched as never, [operation], { mutateDocument: true, treatMissingAsAdd: true });
    } catch (error) {
      const { message, scimCode } = error as { message?: string; scimCode?: string };
      const scimType = scimCode === 'noTarget' || scimCode === 'invalidPath' ? scimCode : 'invalidValue';
      throw ScimError.badRequest(scimType, `The patch cannot be applied: ${message ?? String(error)}`);
    }
  }
  if (members) patched.members = membersOf(members);
  return patched;
}

const isMembersOperation = ({ op, path }: Operation) =>
  path !== undefined && (MEMBERS_PATH.test(path) || (op === 'remove' && ONE_MEMBER_PATH.test(path)));

/** A pathless operation's `members` (Okta, some tools), as an operation of its own on the members. */
function splitMembers(operation: Operation): Operation[] {
  if (operation.path !== undefined || !isObject(operation.value)) return [operation];
  const key = Object.keys(operation.value).find((name) => MEMBERS_PATH.test(name));
  if (key === undefined) return [operation];
  const { [key]: members, ...rest } = operation.value;
  const membersOperation = { op: operation.op, path: 'members', value: members } as Operation;
  return Object.keys(rest).length === 0
    ? [membersOperation]
    : [{ ...operation, value: rest }, membersOperation];
}

/** A Group's members changed as a set of ids: added once each, in order; replaced; removed. */
function patchMembers(members: Set<string>, { op, path, value }: Operation): Set<string> {
  const one = ONE_MEMBER_PATH.exec(path!);
  if (op === 'remove' && one === null && value === undefined) return new Set();
  const given = one ? [one[1]] : memberIds(value);
  if (op === 'replace') return new Set(given);
  for (const id of given) {
    if (op === 'remove') members.delete(id);
    else members.add(id);
  }
  return members;
}

const membersOf = (ids: Set<string>): JsonValue => [...ids].map((id) => ({ value: id }));

function memberIds(value: JsonValue | undefined): string[] {
  const members = Array.isArray(value) ? value : [value ?? null];
  return members.map((member) => {
    const id = isObject(member) ? member.value : undefined;
    if (typeof id !== 'string' || id.length === 0) {
      throw ScimError.badRequest('invalidValue', 'each member needs a "value": the SCIM id of a User');
    }
    return id;
  });
}

/** The values an operation carries: each item of an array, anywhere in it, counts. */
function valueCount(value: JsonValue | undefined): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + 1 + valueCount(item), 0);
  if (isObject(value)) return Object.values(value).reduce<number>((sum, item) => sum + valueCount(item), 0);
  return 0;
}

function normalizeOperation(operation: JsonValue, index: number, schemas: readonly string[]): Operation {
  if (!isObject(operation))
    throw ScimError.badRequest('invalidSyntax', `Operation ${index} is not an object`);
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : null;
  if (op === null || !OPERATIONS.has(op)) {
    throw ScimError.badRequest('invalidSyntax', `Operation ${index}: "op" must be add, replace or remove`);
  }
  const path = typeof operation.path === 'string' ? canonicalSchema(operation.path) : operation.path;
  const value =
    path === undefined && isObject(operation.value) ? byAttribute(operation.value, schemas) : operation.value;
  if (path !== undefined && (typeof path !== 'string' || path.trim().length === 0)) {
    throw ScimError.badRequest('invalidPath', `Operation ${index}: "path" must be a non-empty string`);
  }
  if (path !== undefined && path.length > MAX_PATH_LENGTH) {
    throw ScimError.badRequest('invalidPath', `Operation ${index}: "path" is longer than ${MAX_PATH_LENGTH}`);
  }
  if (path !== undefined) checkPathNames(path);
  if (value !== undefined) checkValueNames(value);
  if (op === 'remove') {
    if (path === undefined)
      throw ScimError.badRequest('noTarget', `Operation ${index}: remove needs a "path"`);
    return { op, path, ...(value === undefined ? {} : { value: standardValue(path, value) }) };
  }
  if (value === undefined)
    throw ScimError.badRequest('invalidValue', `Operation ${index}: ${op} needs a "value"`);
  return {
    op: op as 'add' | 'replace',
    ...(path === undefined ? {} : { path }),
    value: standardValue(path, value),
  };
}

/**
 * A pathless value's attributes, each named as scim-patch reads it: `URN:attribute`, schema URNs canonical.
 * A schema's attributes may come grouped under its URN (`{"urn:...:enterprise:2.0:User": {"department": ...}}`,
 * RFC 7644 §3.5.2.1); scim-patch would split such a key at its last colon and store the group under `urn:...:2.0`.
 * Only the resource's own `schemas` may group them.
 */
function byAttribute(value: JsonObject, schemas: readonly string[]): JsonObject {
  return Object.fromEntries(
    Object.entries(value).flatMap(([name, item]): [string, JsonValue][] => {
      const schema = KNOWN_SCHEMAS.find((urn) => urn.toLowerCase() === name.toLowerCase());
      if (schema === undefined || !isObject(item)) return [[canonicalSchema(name), item]];
      if (!schemas.includes(schema)) {
        throw ScimError.badRequest('invalidPath', `${schema} is not a schema of this resource`);
      }
      const prefix = schema === ENTERPRISE_USER_SCHEMA ? `${schema}:` : '';
      return Object.entries(item).map(([attribute, inner]) => [`${prefix}${attribute}`, inner]);
    }),
  );
}

/**
 * A name under a schema this service knows, with the schema's URN as the schema spells it: URNs are
 * case-insensitive (RFC 7643 §2.1), and scim-patch, which matches them as written, would file
 * `...:core:2.0:user:active` under an unknown extension and leave `active` as it was.
 */
function canonicalSchema(name: string): string {
  const lower = name.toLowerCase();
  const schema = KNOWN_SCHEMAS.find((urn) => lower.startsWith(`${urn.toLowerCase()}:`));
  return schema === undefined ? name : schema + name.slice(schema.length);
}

function standardValue(path: string | undefined, value: JsonValue): JsonValue {
  if (path === undefined) return value;
  const name = attributeName(path);
  if (name === 'members' && Array.isArray(value)) {
    return value.map((member) => (isObject(member) && 'value' in member ? { value: member.value } : member));
  }
  const wrapped = Array.isArray(value) && value.length === 1 && isObject(value[0]) ? value[0] : null;
  if (
    SIMPLE_USER_ATTRIBUTES.has(name) &&
    wrapped &&
    Object.keys(wrapped).length === 1 &&
    'value' in wrapped
  ) {
    return wrapped.value;
  }
  return value;
}

/** The attribute a path names when it names a whole attribute (`displayName`, `urn:...:User:department`), else ''. */
function attributeName(path: string): string {
  const local = /^urn:/i.test(path) ? path.slice(path.lastIndexOf(':') + 1) : path;
  return /[[.]/.test(local) ? '' : local.toLowerCase();
}
