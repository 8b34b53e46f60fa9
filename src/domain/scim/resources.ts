import type { JsonValue } from '../types';
import { isWellFormedText, userIdProblem } from '../validation';
import { ScimError } from './errors';
import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_ATTRIBUTE_NAMES,
  GROUP_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  USER_ATTRIBUTE_NAMES,
  USER_SCHEMA,
} from './schemas';
import type { JsonObject } from './values';
import { canonicalNames, isObject, readBoolean, readString } from './values';

export const SCIM_USER_ID_ATTRIBUTES = ['EXTERNAL_ID', 'USER_NAME'] as const;
/** Which SCIM attribute of a User holds the identity's User id (the `sub` of its tokens). */
export type ScimUserIdAttribute = (typeof SCIM_USER_ID_ATTRIBUTES)[number];

/** userName, externalId and displayName: what both providers send fits easily (Entra's UPN is at most 113). */
export const MAX_NAME_LENGTH = 255;
/** The attributes kept besides the indexed ones (name, emails, the enterprise extension...), as JSON. */
export const MAX_ATTRIBUTES_JSON = 16 * 1024;

/** What a POST or PUT says about a User, normalized; `attributes` holds everything not stored in its own column. */
export interface ScimUserFields {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  attributes: JsonObject;
}

export interface ScimUser extends ScimUserFields {
  id: string;
  /** The identity's User id, from the attribute the writing token's userIdAttribute named (see subjectOf). */
  subject: string;
  groups: { id: string; displayName: string }[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ScimGroupFields {
  displayName: string;
  externalId: string | null;
  /** The SCIM ids of the member Users, without repeats. */
  memberIds: string[];
}

export interface ScimGroup extends ScimGroupFields {
  id: string;
  /** userName of each member, by SCIM id, for `members[].display`. */
  memberNames: Map<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Read-only and write-only attributes a provider sends anyway: Okta's PUT repeats `id` and `groups` and sends
 * `password`, which this service has no use for and never stores.
 */
const NOT_STORED = new Set(['id', 'schemas', 'meta', 'groups', 'password']);
const STORED_IN_COLUMNS = new Set(['userName', 'externalId', 'displayName', 'active']);

/**
 * A User as a POST or PUT (or a patched document) gives it. `activeDefault` is what an omitted `active` means:
 * true for a new user, the current value on a replace, so a PUT that leaves it out does not reactivate anyone.
 */
export function readUser(body: JsonObject, activeDefault: boolean): ScimUserFields {
  const named = canonicalNames(body, USER_ATTRIBUTE_NAMES);
  const userName = readString(named.userName, 'userName', MAX_NAME_LENGTH);
  if (userName === null) throw ScimError.badRequest('invalidValue', 'userName is required');
  const attributes: JsonObject = {};
  for (const [name, value] of Object.entries(named)) {
    if (NOT_STORED.has(name) || STORED_IN_COLUMNS.has(name) || value === null) continue;
    attributes[name] = normalizeBooleans(value);
  }
  if (JSON.stringify(attributes).length > MAX_ATTRIBUTES_JSON) {
    throw ScimError.badRequest(
      'invalidValue',
      `The user's attributes exceed ${MAX_ATTRIBUTES_JSON} characters of JSON`,
    );
  }
  return {
    userName,
    externalId: readString(named.externalId, 'externalId', MAX_NAME_LENGTH),
    displayName: readString(named.displayName, 'displayName', MAX_NAME_LENGTH),
    active:
      named.active === undefined || named.active === null
        ? activeDefault
        : readBoolean(named.active, 'active'),
    attributes,
  };
}

/** `primary` in multi-valued attributes (emails...) comes as "True" from Entra too. */
function normalizeBooleans(value: JsonValue): JsonValue {
  if (!Array.isArray(value)) return value;
  return value.map((item) =>
    isObject(item) && typeof item.primary === 'string'
      ? { ...item, primary: readBoolean(item.primary, 'primary') }
      : item,
  );
}

/** The identity's User id: the attribute the token names, which must be a valid user id. */
export function subjectOf(user: ScimUserFields, attribute: ScimUserIdAttribute): string {
  const [name, value] =
    attribute === 'EXTERNAL_ID' ? ['externalId', user.externalId] : ['userName', user.userName];
  if (value === null) {
    throw ScimError.badRequest(
      'invalidValue',
      `${name} is required: it holds the identity's User id (this SCIM token's userIdAttribute is ${attribute})`,
    );
  }
  const problem = userIdProblem(value);
  if (problem !== null) throw ScimError.badRequest('invalidValue', `${name}: ${problem}`);
  return value;
}

/** Lower case, for the attributes compared without regard to case (userName, displayName: caseExact false). */
export const caseless = (text: string) => text.toLowerCase();

/** What is wrong with a group name given to setGroupTier, by the rules a Group's displayName follows; or null. */
export function groupNameProblem(name: string): string | null {
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH) return `group must be 1 to ${MAX_NAME_LENGTH} characters`;
  return isWellFormedText(name) ? null : 'group must be well-formed Unicode text';
}

/** A Group as a POST or PUT (or a patched document) gives it. */
export function readGroup(body: JsonObject): ScimGroupFields {
  const named = canonicalNames(body, GROUP_ATTRIBUTE_NAMES);
  const displayName = readString(named.displayName, 'displayName', MAX_NAME_LENGTH);
  if (displayName === null) throw ScimError.badRequest('invalidValue', 'displayName is required');
  return {
    displayName,
    externalId: readString(named.externalId, 'externalId', MAX_NAME_LENGTH),
    memberIds: readMemberIds(named.members),
  };
}

function readMemberIds(members: JsonValue | undefined): string[] {
  if (members === undefined || members === null) return [];
  if (!Array.isArray(members)) throw ScimError.badRequest('invalidValue', 'members must be an array');
  const ids = members.map((member) => {
    const value = isObject(member) ? member.value : undefined;
    if (typeof value !== 'string' || value.length === 0) {
      throw ScimError.badRequest('invalidValue', 'each member needs a "value": the SCIM id of a User');
    }
    return value;
  });
  return [...new Set(ids)];
}

/** A stored Group as the document a PATCH is applied to: members carry only their `value`. */
export function patchableGroup(group: ScimGroup): JsonObject {
  return {
    id: group.id,
    displayName: group.displayName,
    ...(group.externalId === null ? {} : { externalId: group.externalId }),
    members: group.memberIds.map((value) => ({ value })),
  };
}

/** A stored User as the document a PATCH is applied to. */
export function patchableUser(user: ScimUser): JsonObject {
  return {
    id: user.id,
    userName: user.userName,
    ...(user.externalId === null ? {} : { externalId: user.externalId }),
    ...(user.displayName === null ? {} : { displayName: user.displayName }),
    active: user.active,
    ...user.attributes,
  };
}

/** The `id` a patched document must still have: it is immutable (Okta's group PATCH repeats it). */
export function checkIdUnchanged(document: JsonObject, id: string): void {
  if (document.id !== undefined && document.id !== id) {
    throw ScimError.badRequest('mutability', 'id cannot change');
  }
}

export function userResource(user: ScimUser, baseUrl: string): JsonObject {
  return {
    schemas: [USER_SCHEMA, ...(ENTERPRISE_USER_SCHEMA in user.attributes ? [ENTERPRISE_USER_SCHEMA] : [])],
    id: user.id,
    ...(user.externalId === null ? {} : { externalId: user.externalId }),
    userName: user.userName,
    ...(user.displayName === null ? {} : { displayName: user.displayName }),
    active: user.active,
    ...user.attributes,
    groups: user.groups.map((group) => ({
      value: group.id,
      $ref: `${baseUrl}/Groups/${group.id}`,
      display: group.displayName,
      type: 'direct',
    })),
    meta: meta('User', user, `${baseUrl}/Users/${user.id}`),
  };
}

export function groupResource(group: ScimGroup, baseUrl: string): JsonObject {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId === null ? {} : { externalId: group.externalId }),
    displayName: group.displayName,
    members: group.memberIds.map((id) => ({
      value: id,
      $ref: `${baseUrl}/Users/${id}`,
      display: group.memberNames.get(id) ?? null,
      type: 'User',
    })),
    meta: meta('Group', group, `${baseUrl}/Groups/${group.id}`),
  };
}

function meta(
  resourceType: string,
  resource: { createdAt: Date; updatedAt: Date },
  location: string,
): JsonObject {
  return {
    resourceType,
    created: resource.createdAt.toISOString(),
    lastModified: resource.updatedAt.toISOString(),
    location,
  };
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.9), by top-level attribute; `id` and `schemas` always stay. */
export interface Projection {
  attributes: Set<string> | null;
  excludedAttributes: Set<string>;
}

export function readProjection(query: { attributes?: unknown; excludedAttributes?: unknown }): Projection {
  const names = (value: unknown) =>
    new Set(
      (typeof value === 'string' ? value.split(',') : [])
        .map((name) => topLevelName(name.trim()))
        .filter((name) => name.length > 0),
    );
  return {
    attributes: typeof query.attributes === 'string' ? names(query.attributes) : null,
    excludedAttributes: names(query.excludedAttributes),
  };
}

/** `name.givenName` -> `name`; `urn:...:User:userName` -> `username`; an extension's attribute -> the extension. */
function topLevelName(path: string): string {
  const lower = path.toLowerCase();
  for (const schema of [USER_SCHEMA, GROUP_SCHEMA]) {
    if (lower.startsWith(`${schema.toLowerCase()}:`)) return topLevelName(path.slice(schema.length + 1));
  }
  if (lower.startsWith('urn:')) return lower.slice(0, lower.lastIndexOf(':'));
  return lower.split('.')[0];
}

const ALWAYS_SHOWN = new Set(['id', 'schemas']);

/** Whether an answer projected by `projection` shows the top-level attribute `name`. */
export function shows(projection: Projection, name: string): boolean {
  const lower = name.toLowerCase();
  if (ALWAYS_SHOWN.has(lower)) return true;
  if (projection.attributes !== null) return projection.attributes.has(lower);
  return !projection.excludedAttributes.has(lower);
}

export function project(resource: JsonObject, projection: Projection): JsonObject {
  return Object.fromEntries(Object.entries(resource).filter(([name]) => shows(projection, name)));
}

/** `startIndex` (1-based, below 1 counts as 1) and `count` (below 0 counts as 0, above the maximum as it). */
export interface Page {
  startIndex: number;
  count: number;
}

export function readPage(
  query: { startIndex?: unknown; count?: unknown },
  max: number,
  fallback: number,
): Page {
  const integer = (value: unknown, name: string, otherwise: number) => {
    if (value === undefined) return otherwise;
    if (typeof value !== 'string' || !/^-?\d{1,9}$/.test(value)) {
      throw ScimError.badRequest('invalidValue', `${name} must be an integer`);
    }
    return Number(value);
  };
  return {
    startIndex: Math.max(1, integer(query.startIndex, 'startIndex', 1)),
    count: Math.min(max, Math.max(0, integer(query.count, 'count', fallback))),
  };
}

export function listResponse(resources: JsonObject[], totalResults: number, page: Page): JsonObject {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex: page.startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
