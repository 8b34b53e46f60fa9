/** The schema URNs and the discovery documents of RFC 7643 §5-7, as this service implements them. */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** The schemas each resource may have. */
export const USER_SCHEMAS = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
export const GROUP_SCHEMAS = [GROUP_SCHEMA];
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** The most resources one list page holds (`count` above it is lowered to it, as RFC 7644 §3.4.2.4 allows). */
export const MAX_PAGE_COUNT = 200;
export const DEFAULT_PAGE_COUNT = 100;
/** The most operations one PATCH may carry. */
export const MAX_PATCH_OPERATIONS = 1000;

type Attribute = Record<string, unknown>;

const attribute = (name: string, options: Partial<Attribute> = {}): Attribute => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...options,
});
const complex = (name: string, subAttributes: Attribute[], options: Partial<Attribute> = {}) =>
  attribute(name, { type: 'complex', subAttributes, ...options });
const multiValued = (name: string, subAttributes: Attribute[]) =>
  complex(name, subAttributes, { multiValued: true });
const typedValue = (valueType = 'string') => [
  attribute('value', { type: valueType }),
  attribute('display'),
  attribute('type'),
  attribute('primary', { type: 'boolean' }),
];
const reference = (referenceTypes: string[], options: Partial<Attribute> = {}) =>
  attribute('$ref', { type: 'reference', referenceTypes, ...options });

const USER_ATTRIBUTES: Attribute[] = [
  attribute('userName', { required: true, uniqueness: 'server' }),
  complex('name', [
    attribute('formatted'),
    attribute('familyName'),
    attribute('givenName'),
    attribute('middleName'),
    attribute('honorificPrefix'),
    attribute('honorificSuffix'),
  ]),
  attribute('displayName'),
  attribute('nickName'),
  attribute('profileUrl', { type: 'reference', referenceTypes: ['external'] }),
  attribute('title'),
  attribute('userType'),
  attribute('preferredLanguage'),
  attribute('locale'),
  attribute('timezone'),
  attribute('active', { type: 'boolean' }),
  attribute('password', { mutability: 'writeOnly', returned: 'never' }),
  multiValued('emails', typedValue()),
  multiValued('phoneNumbers', typedValue()),
  multiValued('ims', typedValue()),
  multiValued('photos', typedValue('reference')),
  multiValued('addresses', [
    attribute('formatted'),
    attribute('streetAddress'),
    attribute('locality'),
    attribute('region'),
    attribute('postalCode'),
    attribute('country'),
    attribute('type'),
    attribute('primary', { type: 'boolean' }),
  ]),
  complex(
    'groups',
    [
      attribute('value', { mutability: 'readOnly' }),
      reference(['Group'], { mutability: 'readOnly' }),
      attribute('display', { mutability: 'readOnly' }),
      attribute('type', { mutability: 'readOnly' }),
    ],
    { multiValued: true, mutability: 'readOnly' },
  ),
  multiValued('entitlements', typedValue()),
  multiValued('roles', typedValue()),
  multiValued('x509Certificates', typedValue('binary')),
];

const ENTERPRISE_ATTRIBUTES: Attribute[] = [
  attribute('employeeNumber'),
  attribute('costCenter'),
  attribute('organization'),
  attribute('division'),
  attribute('department'),
  complex('manager', [
    attribute('value'),
    reference(['User']),
    attribute('displayName', { mutability: 'readOnly' }),
  ]),
];

const GROUP_ATTRIBUTES: Attribute[] = [
  attribute('displayName', { required: true, uniqueness: 'server' }),
  complex(
    'members',
    [
      attribute('value', { mutability: 'immutable' }),
      reference(['User', 'Group'], { mutability: 'immutable' }),
      attribute('display', { mutability: 'readOnly' }),
      attribute('type', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
    { multiValued: true },
  ),
];

/** The User attributes that hold one simple value (not complex, not multi-valued), core and enterprise. */
export const SIMPLE_USER_ATTRIBUTES = new Set(
  [...USER_ATTRIBUTES, ...ENTERPRISE_ATTRIBUTES]
    .filter((a) => a.type !== 'complex' && !a.multiValued)
    .map((a) => (a.name as string).toLowerCase()),
);
/** Every core User attribute name, as the schema spells it. */
export const USER_ATTRIBUTE_NAMES = [...USER_ATTRIBUTES.map((a) => a.name as string), 'externalId', 'id'];
export const GROUP_ATTRIBUTE_NAMES = [...GROUP_ATTRIBUTES.map((a) => a.name as string), 'externalId', 'id'];

const SCHEMAS = [
  { id: USER_SCHEMA, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES },
  {
    id: ENTERPRISE_USER_SCHEMA,
    name: 'EnterpriseUser',
    description: 'Enterprise User',
    attributes: ENTERPRISE_ATTRIBUTES,
  },
  { id: GROUP_SCHEMA, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES },
];

const RESOURCE_TYPES = [
  {
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
  },
  { id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group', schema: GROUP_SCHEMA },
];

export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A SCIM token from the createScimToken mutation, as Authorization: Bearer <token>',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string): Record<string, unknown>[] {
  return RESOURCE_TYPES.map((type) => ({
    schemas: [RESOURCE_TYPE_SCHEMA],
    ...type,
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.id}` },
  }));
}

export function schemas(baseUrl: string): Record<string, unknown>[] {
  return SCHEMAS.map((schema) => ({
    schemas: [SCHEMA_SCHEMA],
    ...schema,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  }));
}
