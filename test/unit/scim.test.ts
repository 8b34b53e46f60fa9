import { ScimError } from '../../src/domain/scim/errors';
import { parseFilter, USER_FILTER_ATTRIBUTES } from '../../src/domain/scim/filter';
import { applyPatch } from '../../src/domain/scim/patch';
import {
  patchableGroup,
  project,
  readGroup,
  readPage,
  readProjection,
  readUser,
  subjectOf,
} from '../../src/domain/scim/resources';
import { checkBody } from '../../src/domain/scim/values';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

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
  ])('refuses %s as invalidFilter', (filter) => {
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
