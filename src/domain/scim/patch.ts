import type { ScimPatchOperation } from 'scim-patch';
import { scimPatch } from 'scim-patch';

import type { JsonValue } from '../types';
import { ScimError } from './errors';
import { MAX_PATCH_OPERATIONS, SIMPLE_USER_ATTRIBUTES } from './schemas';
import type { JsonObject } from './values';
import { checkPathNames, isObject } from './values';

/*
 * Why scim-patch (with scim2-parse-filter, which it uses for value filters and filter.ts uses for `filter`):
 * schema-free functions over plain documents, tested against Azure AD's quirks, so storage, transactions and
 * errors stay ours. scimmy (+ scimmy-routers) was set aside: it owns the whole request (its own body parser and
 * router, built on Express 4), keeps its configuration and resource handlers in process-wide statics, and its
 * typed attributes refuse Entra's `"active": "False"` before our code could read it. scim-patch follows a path
 * through `constructor.prototype` into Object.prototype, so such paths are refused first (values.ts).
 */
const OPERATIONS = new Set(['add', 'replace', 'remove']);

/**
 * Applies a PatchOp body (RFC 7644 §3.5.2) to `document` and returns the patched copy. The operations are
 * applied by scim-patch (value filters in paths, PATCH without `path`, extension URNs); before that, what real
 * providers send is made standard: `op` in any case (Entra's "Replace", "Add"), a simple attribute's value
 * wrapped as `[{"value": x}]` (Entra), and members given with `$ref` / `display`, which only their `value`
 * identifies. The caller then reads the result as it reads a PUT, so a patch can never store what a PUT could not.
 */
export function applyPatch(document: JsonObject, body: JsonObject): JsonObject {
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw ScimError.badRequest('invalidSyntax', 'A PATCH body needs "Operations": a non-empty array');
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw ScimError.badRequest('tooMany', `A PATCH may carry at most ${MAX_PATCH_OPERATIONS} operations`);
  }
  const normalized = operations.map(normalizeOperation);
  try {
    return scimPatch(document as never, normalized, { mutateDocument: false, treatMissingAsAdd: true });
  } catch (error) {
    const { message, scimCode } = error as { message?: string; scimCode?: string };
    const scimType = scimCode === 'noTarget' || scimCode === 'invalidPath' ? scimCode : 'invalidValue';
    throw ScimError.badRequest(scimType, `The patch cannot be applied: ${message ?? String(error)}`);
  }
}

function normalizeOperation(operation: JsonValue, index: number): ScimPatchOperation {
  if (!isObject(operation))
    throw ScimError.badRequest('invalidSyntax', `Operation ${index} is not an object`);
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : null;
  if (op === null || !OPERATIONS.has(op)) {
    throw ScimError.badRequest('invalidSyntax', `Operation ${index}: "op" must be add, replace or remove`);
  }
  const { path, value } = operation;
  if (path !== undefined && (typeof path !== 'string' || path.trim().length === 0)) {
    throw ScimError.badRequest('invalidPath', `Operation ${index}: "path" must be a non-empty string`);
  }
  if (path !== undefined) checkPathNames(path);
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
