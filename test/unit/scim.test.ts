import { ScimError } from '../../src/domain/scim/errors';
import { parseFilter, USER_FILTER_ATTRIBUTES } from '../../src/domain/scim/filter';
import { applyPatch as applyPatchTo } from '../../src/domain/scim/patch';
import {
  patchableGroup,
  project,
  readGroup,
  readPage,
  readProjection,
  readUser,
  subjectOf,
} from '../../src/domain/scim/resources';
import { GROUP_SCHEMAS, USER_SCHEMAS } from '../../src/domain/scim/schemas';
import type { JsonObject } from '../../src/domain/scim/values';
import { checkBody } from '../../src/domain/scim/values';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A PATCH of a User's document (a Group's document is patched the same way but for its schemas). */
const applyPatch = (document: JsonObject, body: JsonObject) => applyPatchTo(document, body, USER_SCHEMAS);

/** The ScimError `run` throws, as status and scimType. */
function refusal(run: () => unknown): { status: number; scimType?: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ScimError) return { status: error.status, scimType: error.scimType };
    throw error;
  }
  throw new Error('expected a ScimError');
}

describe('reading a User', () => {
  it('takes Entra\'s "False" and "True" strings as booleans, in active and in primary', () => {
    const user = readUser(
      { userName: 'a', active: 'False', emails: [{ value: 'a@x', primary: 'True' }] },
      true,
    );
    expect(user.active).toBe(false);
    expect(user.attributes.emails).toEqual([{ value: 'a@x', primary: true }]);
    expect(readUser({ userName: 'a', active: 'TRUE' }, false).active).toBe(true);
    expect(refusal(() => readUser({ userName: 'a', active: 'yes' }, true))).toEqual({
      status: 400,
      scimType: 'invalidValue',
    });
  });

  it('keeps the other attributes, never the password, id, meta or groups; names are case-insensitive', () => {
    const user = readUser(
      {
        UserName: 'bob',
        ExternalID: 'b-1',
        password: 'secret',
        id: 'x',
        meta: { resourceType: 'User' },
        groups: [],
        name: { givenName: 'Bob' },
        [ENTERPRISE]: { department: 'Sales' },
      },
      true,
    );
    expect(user).toEqual({
      userName: 'bob',
      externalId: 'b-1',
      displayName: null,
      active: true,
      attributes: { name: { givenName: 'Bob' }, [ENTERPRISE]: { department: 'Sales' } },
    });
  });

  it('an omitted active is the default given: true for a new User, the current value on a replace', () => {
    expect(readUser({ userName: 'a' }, true).active).toBe(true);
    expect(readUser({ userName: 'a' }, false).active).toBe(false);
  });

  it('the User id is the attribute the token names, and must be a valid user id', () => {
    const user = readUser({ userName: 'upn@contoso.com', externalId: 'obj-1' }, true);
    expect(subjectOf(user, 'EXTERNAL_ID')).toBe('obj-1');
    expect(subjectOf(user, 'USER_NAME')).toBe('upn@contoso.com');
    expect(refusal(() => subjectOf(readUser({ userName: 'a' }, true), 'EXTERNAL_ID'))).toEqual({
      status: 400,
      scimType: 'invalidValue',
    });
  });
});

describe('filters', () => {
  it('eq on the supported attributes, joined by and / or, case-insensitive names and the core URN', () => {
    expect(
      parseFilter(
        'UserName eq "a" and (externalId eq "b" or urn:ietf:params:scim:schemas:core:2.0:User:id eq "c")',
        USER_FILTER_ATTRIBUTES,
      ),
    ).toEqual({
      and: [
        { attribute: 'userName', value: 'a' },
        {
          or: [
            { attribute: 'externalId', value: 'b' },
            { attribute: 'id', value: 'c' },
          ],
        },
      ],
    });
  });

  it.each([
    'userName co "a"',
    'not (userName eq "a")',
    'emails[type eq "work"].value eq "a"',
    'title eq "a"',
    'userName eq true',
    'userName eq',
    'userName eq "a" garbage',
    Array.from({ length: 51 }, (_, i) => `userName eq "${i}"`).join(' or '),
    // The parser's string pattern backtracks exponentially here: refused before it runs, or this would not end.
    `userName eq "${'\n'.repeat(60)}`,
    'userName eq "a\tb"',
  ])('refuses %j as invalidFilter', (filter) => {
    expect(refusal(() => parseFilter(filter, USER_FILTER_ATTRIBUTES))).toEqual({
      status: 400,
      scimType: 'invalidFilter',
    });
  });
});

describe('PATCH', () => {
  const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations }) as never;

  it("applies Okta's PATCH without a path and Entra's capitalized ops with wrapped simple values", () => {
    const document = { userName: 'a', active: true, name: { givenName: 'A' } };
    expect(applyPatch(document, patch({ op: 'replace', value: { active: false } }))).toEqual({
      ...document,
      active: false,
    });
    expect(
      applyPatch(
        document,
        patch(
          { op: 'Replace', path: 'name.givenName', value: 'B' },
          { op: 'Add', path: `${ENTERPRISE}:department`, value: [{ value: 'Finance' }] },
          { op: 'Add', path: 'nickName', value: [{ value: 'Babs' }] },
        ),
      ),
    ).toEqual({
      ...document,
      name: { givenName: 'B' },
      nickName: 'Babs',
      [ENTERPRISE]: { department: 'Finance' },
    });
    // Replacing a typed value that is not there adds it (Entra replaces emails[type eq "work"] on new users).
    expect(
      applyPatch(document, patch({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'w@x' })),
    ).toEqual({ ...document, emails: [{ type: 'work', value: 'w@x' }] });
    // A PATCH without path may name an extension's attribute by its full URN (Entra).
    expect(applyPatch(document, patch({ op: 'add', value: { [`${ENTERPRISE}:costCenter`]: '42' } }))).toEqual(
      {
        ...document,
        [ENTERPRISE]: { costCenter: '42' },
      },
    );
  });

  it('reads schema URNs in any case (RFC 7643 §2.1): a lower-case core URN still deactivates the user', () => {
    const document = { userName: 'a', active: true };
    const lowerCore = 'urn:ietf:params:scim:schemas:core:2.0:user';
    expect(applyPatch(document, patch({ op: 'replace', path: `${lowerCore}:active`, value: false }))).toEqual(
      {
        userName: 'a',
        active: false,
      },
    );
    expect(applyPatch(document, patch({ op: 'replace', value: { [`${lowerCore}:active`]: false } }))).toEqual(
      {
        userName: 'a',
        active: false,
      },
    );
    expect(
      applyPatch(document, patch({ op: 'add', path: `${ENTERPRISE.toUpperCase()}:department`, value: 'F' })),
    ).toEqual({ ...document, [ENTERPRISE]: { department: 'F' } });
  });

  it('reads a pathless value whose attributes are grouped under their schema URN (RFC 7644 §3.5.2.1)', () => {
    const document = { userName: 'a', active: true, [ENTERPRISE]: { costCenter: '1' } };
    expect(
      applyPatch(
        document,
        patch({
          op: 'replace',
          value: {
            [ENTERPRISE.toLowerCase()]: { department: 'F' },
            'urn:ietf:params:scim:schemas:core:2.0:User': { active: false },
          },
        }),
      ),
    ).toEqual({ userName: 'a', active: false, [ENTERPRISE]: { costCenter: '1', department: 'F' } });
    // Only the resource's own schemas group its attributes.
    const asGroup = { 'urn:ietf:params:scim:schemas:core:2.0:Group': { displayName: 'G' } };
    expect(refusal(() => applyPatch(document, patch({ op: 'replace', value: asGroup })))).toEqual({
      status: 400,
      scimType: 'invalidPath',
    });
    expect(
      applyPatchTo({ displayName: 'F' }, patch({ op: 'replace', value: asGroup }), GROUP_SCHEMAS),
    ).toEqual({ displayName: 'G' });
  });

  it('removes members given by value with $ref and display, or by a value filter', () => {
    const group = patchableGroup({
      id: 'g',
      displayName: 'G',
      externalId: null,
      memberIds: ['u1', 'u2', 'u3'],
      memberNames: new Map(),
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });
    const patched = applyPatch(
      group,
      patch(
        { op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u1' }] },
        { op: 'remove', path: 'members[value eq "u3"]' },
        { op: 'add', path: 'members', value: [{ value: 'u4', display: 'Four' }] },
      ),
    );
    expect(readGroup(patched).memberIds).toEqual(['u2', 'u4']);
  });

  const groupOf = (memberIds: string[]) =>
    patchableGroup({
      id: 'g',
      displayName: 'G',
      externalId: null,
      memberIds,
      memberNames: new Map(),
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });

  it("changes a group's members as sets of ids, in order, however they are named (with the URN, pathless)", () => {
    const group = groupOf(['u1', 'u2']);
    const ids = (...operations: unknown[]) => readGroup(applyPatch(group, patch(...operations))).memberIds;
    expect(
      ids({ op: 'add', path: 'members', value: [{ value: 'u2' }, { value: 'u3' }, { value: 'u3' }] }),
    ).toEqual(['u1', 'u2', 'u3']);
    expect(
      ids({ op: 'Add', path: 'urn:ietf:params:scim:schemas:core:2.0:Group:members', value: { value: 'u4' } }),
    ).toEqual(['u1', 'u2', 'u4']);
    expect(ids({ op: 'replace', path: 'Members', value: [{ value: 'u9' }] })).toEqual(['u9']);
    expect(ids({ op: 'replace', value: { displayName: 'H', members: [{ value: 'u8' }] } })).toEqual(['u8']);
    expect(
      readGroup(applyPatch(group, patch({ op: 'replace', value: { displayName: 'H' } }))).displayName,
    ).toBe('H');
    expect(ids({ op: 'remove', path: 'members' })).toEqual([]);
    expect(ids({ op: 'remove', path: 'members', value: [{ value: 'u1' }, { value: 'nobody' }] })).toEqual([
      'u2',
    ]);
    expect(refusal(() => ids({ op: 'add', path: 'members', value: [{ display: 'no id' }] }))).toEqual({
      status: 400,
      scimType: 'invalidValue',
    });
    // The document given is left as it was.
    expect(readGroup(group).memberIds).toEqual(['u1', 'u2']);
  });

  it('adds thousands of members to a group of thousands by their ids, not one comparison with each member', () => {
    const existing = Array.from({ length: 20_000 }, (_, i) => `old-${i}`);
    const added = Array.from({ length: 20_000 }, (_, i) => ({ value: `new-${i}` }));
    const patched = applyPatch(groupOf(existing), patch({ op: 'add', path: 'members', value: added }));
    expect(readGroup(patched).memberIds).toHaveLength(40_000);
  });

  it.each([
    ['a path', patch({ op: 'add', path: 'hasOwnProperty.call', value: 'x' })],
    ['a path, in another case', patch({ op: 'add', path: 'ToString.call', value: 'x' })],
    ["an array's method", patch({ op: 'add', path: 'emails.push.polluted', value: 'x' })],
    ["a string's method", patch({ op: 'add', path: 'userName.anchor.polluted', value: 'x' })],
    ['a value filter', patch({ op: 'add', path: 'emails[valueOf eq "w"].x', value: 'x' })],
    ['a pathless value', patch({ op: 'add', value: { 'valueOf.polluted': 'y' } })],
    ['a key of a value given with a path', patch({ op: 'add', path: 'name', value: { 'toString.call': 1 } })],
    [
      'a path that quotes hide it in',
      patch({ op: 'add', path: 'a"b.constructor.prototype.polluted"y', value: 'x' }),
    ],
    [
      'a key that quotes hide it in',
      patch({ op: 'add', value: { 'a"b.constructor.prototype.polluted"v': 1 } }),
    ],
  ])('refuses a name that reaches a prototype in %s, and changes no prototype', (_where, body) => {
    const document = { userName: 'a', emails: [{ type: 'work', value: 'w' }], name: { givenName: 'A' } };
    const { status } = refusal(() => applyPatch(document, checkBody(body)));
    expect(status).toBe(400);
    expect(typeof Object.prototype.hasOwnProperty.call).toBe('function');
    expect(typeof Object.prototype.toString.call).toBe('function');
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(Array.prototype.push).not.toHaveProperty('polluted');
    expect(Object.prototype.valueOf).not.toHaveProperty('polluted');
  });

  it.each([
    [
      'a path over 1,024 characters',
      patch({ op: 'add', path: `name.${'a.'.repeat(600)}b`, value: 1 }),
      'invalidPath',
    ],
    [
      '1,001 values of an attribute in one operation',
      patch({
        op: 'add',
        path: 'emails',
        value: Array.from({ length: 1001 }, (_, i) => ({ value: `${i}` })),
      }),
      'tooMany',
    ],
    [
      '1,001 values of attributes in all, one operation without a path',
      patch(
        { op: 'add', value: { emails: Array.from({ length: 600 }, () => ({})) } },
        { op: 'add', path: 'roles', value: Array.from({ length: 401 }, () => ({})) },
      ),
      'tooMany',
    ],
  ])('refuses %s', (_what, body, scimType) => {
    const document = { userName: 'a', emails: [{ type: 'work', value: 'w' }] };
    expect(refusal(() => applyPatch(document, body))).toEqual({ status: 400, scimType });
  });

  it.each([
    [{ schemas: [PATCH_OP] }, 'invalidSyntax'],
    [patch({ op: 'move', path: 'a', value: 1 }), 'invalidSyntax'],
    [patch({ op: 'remove' }), 'noTarget'],
    [patch({ op: 'add', path: 'a' }), 'invalidValue'],
    [patch({ op: 'add', path: 'constructor.prototype.polluted', value: 1 }), 'invalidPath'],
    [patch({ op: 'add', path: '__proto__.polluted', value: 1 }), 'invalidPath'],
    [patch({ op: 'replace', path: 'emails[type eq "home" or type eq "x"].value', value: 'x' }), 'noTarget'],
    [patch(...Array.from({ length: 1001 }, () => ({ op: 'add', path: 'a', value: 1 }))), 'tooMany'],
  ])('refuses %j as %s', (body, scimType) => {
    const document = { userName: 'a', emails: [{ type: 'work', value: 'w' }] };
    expect(refusal(() => applyPatch(document, body as never))).toEqual({ status: 400, scimType });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('bodies, pages and projections', () => {
  it('a body is a JSON object without prototype keys, nested at most 32 deep', () => {
    expect(refusal(() => checkBody([]))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(() => checkBody(JSON.parse('{"a": {"__proto__": {}}}')))).toEqual({
      status: 400,
      scimType: 'invalidSyntax',
    });
    let deep: unknown = {};
    for (let i = 0; i < 40; i += 1) deep = { a: deep };
    expect(refusal(() => checkBody(deep))).toEqual({ status: 400, scimType: 'invalidSyntax' });
  });

  it('startIndex below 1 counts as 1, count is kept within 0 and the maximum', () => {
    expect(readPage({}, 200, 100)).toEqual({ startIndex: 1, count: 100 });
    expect(readPage({ startIndex: '-3', count: '-1' }, 200, 100)).toEqual({ startIndex: 1, count: 0 });
    expect(readPage({ startIndex: '5', count: '5000' }, 200, 100)).toEqual({ startIndex: 5, count: 200 });
    expect(refusal(() => readPage({ count: '1.5' }, 200, 100))).toEqual({
      status: 400,
      scimType: 'invalidValue',
    });
  });

  it('attributes and excludedAttributes keep id and schemas', () => {
    const resource = {
      schemas: [],
      id: '1',
      userName: 'a',
      name: { givenName: 'A' },
      [ENTERPRISE]: {},
      meta: {},
    };
    expect(project(resource, readProjection({ attributes: 'userName,name.givenName' }))).toEqual({
      schemas: [],
      id: '1',
      userName: 'a',
      name: { givenName: 'A' },
    });
    expect(
      project(resource, readProjection({ excludedAttributes: `meta,${ENTERPRISE}:department` })),
    ).toEqual({
      schemas: [],
      id: '1',
      userName: 'a',
      name: { givenName: 'A' },
    });
  });
});
