import { entitlementsChange } from '../../src/domain/access-change';
import type { LicenseState } from '../../src/domain/effective';
import {
  defaultLicense,
  effectiveEntitlements,
  effectiveTier,
  viewLicense,
} from '../../src/domain/effective';
import { groupTierChange, withGroupEntry } from '../../src/domain/group-tiers';
import type { Entitlement, GroupTier } from '../../src/domain/types';
import { at, DAY, entitlementOf, grant, licenseState, NOW, seatIn } from '../testkit/domain-fixtures';

/** Rule S4: the tiers a member's SCIM groups give are more sources of rule 2, without a database. */

const group = (name: string, tierKey: string): GroupTier => ({ groupId: `id-${name}`, group: name, tierKey });
const ENGINEERING = group('Engineering', 'pro');
const HELPDESK = group('Helpdesk', 'support');
const EXECUTIVES = group('Executives', 'enterprise');

/** u1 on the free tier, having used 40 of api. */
const state = (fields: Partial<LicenseState> = {}) =>
  licenseState({ usedByFeature: new Map([['api', 40]]), ...fields });

const trial = (tierKey: string) => ({ tierKey, startedAt: at(-DAY), endsAt: at(DAY) });

describe("a group's tier is one more source of the member's entitlements (rule S4)", () => {
  it.each<[string, LicenseState, string, Partial<Entitlement> | undefined]>([
    ['BOOLEAN only a group gives', state({ groupTiers: [ENGINEERING] }), 'sso', { source: 'TIER' }],
    ['BOOLEAN absent without the group', state(), 'sso', undefined],
    [
      'METERED adds up like a second tier',
      state({ groupTiers: [ENGINEERING] }),
      'api',
      { source: 'TIER', limit: 1100, used: 40, remaining: 1060 },
    ],
    [
      'METERED from two groups of two tiers: all three add up (unlimited here)',
      state({ groupTiers: [ENGINEERING, EXECUTIVES] }),
      'api',
      { limit: null, remaining: null },
    ],
    [
      'METERED: a tier counts once, however many groups give it',
      state({ groupTiers: [ENGINEERING, group('Platform', 'pro')] }),
      'api',
      { limit: 1100 },
    ],
    [
      "METERED: a group giving the member's own tier adds nothing",
      state({ license: { ...defaultLicense('u1'), baseTierKey: 'pro' }, groupTiers: [ENGINEERING] }),
      'api',
      { limit: 1000 },
    ],
    [
      'METERED: a grant on top still adds, and speaks',
      state({
        groupTiers: [ENGINEERING],
        grants: [grant('api', { limit: 5 })],
      }),
      'api',
      { source: 'GRANT', limit: 1105 },
    ],
    ['a pooled feature: a group fills no pool', state({ groupTiers: [ENGINEERING] }), 'credits', undefined],
    [
      'CONFIG takes the highest-ranked tier, a group one',
      state({ groupTiers: [EXECUTIVES] }),
      'theme',
      { value: 'gold', source: 'TIER' },
    ],
    [
      "CONFIG between equal ranks: the member's own tier first",
      state({ license: { ...defaultLicense('u1'), baseTierKey: 'pro' }, groupTiers: [HELPDESK] }),
      'theme',
      { value: 'blue' },
    ],
    [
      'CONFIG between equal-ranked group tiers: the smaller tier key first',
      state({ groupTiers: [HELPDESK, ENGINEERING] }),
      'theme',
      { value: 'blue' },
    ],
    [
      'the own tier speaks for a feature it gives too',
      state({ groupTiers: [ENGINEERING] }),
      'theme',
      { source: 'TIER', value: 'blue' },
    ],
    [
      'a trial speaks for what it gives, a group tier for the rest',
      state({
        license: { ...defaultLicense('u1'), baseTierKey: 'free', trial: trial('support') },
        groupTiers: [ENGINEERING],
      }),
      'sso',
      { source: 'TIER' },
    ],
    [
      'a group tier covers a feature after a trial of the same tier ends: no end',
      state({
        license: { ...defaultLicense('u1'), baseTierKey: 'free', trial: trial('pro') },
        groupTiers: [ENGINEERING],
      }),
      'sso',
      { source: 'TRIAL', expiresAt: null },
    ],
    [
      'without the group, the trial ends it',
      state({ license: { ...defaultLicense('u1'), baseTierKey: 'free', trial: trial('pro') } }),
      'sso',
      { source: 'TRIAL', expiresAt: at(DAY) },
    ],
    [
      'a group tier before an organization: TIER, with the organization listed',
      state({ groupTiers: [ENGINEERING], organizations: [seatIn('acme', 'enterprise')] }),
      'sso',
      { source: 'TIER', organizations: ['acme'] },
    ],
    [
      'narrowed to an organization: the group tier still counts (it is the identity’s own)',
      state({ groupTiers: [HELPDESK], organizations: [seatIn('acme', 'pro')] }),
      'audit',
      { source: 'TIER', organizations: [] },
    ],
    [
      'a group tier not in the catalog gives nothing',
      state({ groupTiers: [group('Ghosts', 'gone')] }),
      'sso',
      undefined,
    ],
    [
      'a revoked license: nothing at all, groups included',
      state({ license: { ...defaultLicense('u1'), status: 'REVOKED' }, groupTiers: [EXECUTIVES] }),
      'sso',
      undefined,
    ],
  ])('%s', (_name, s, key, expected) => {
    const narrowed = _name.startsWith('narrowed') ? 'acme' : null;
    const entitlement = entitlementOf(s, key, narrowed);
    if (expected === undefined) expect(entitlement).toBeUndefined();
    else expect(entitlement).toMatchObject(expected);
  });
});

describe('User.tier: the highest-ranked of the own effective tier and the group tiers', () => {
  it.each<[string, LicenseState, string]>([
    ['no groups: the own tier', state(), 'free'],
    ['a higher group tier raises it', state({ groupTiers: [ENGINEERING] }), 'pro'],
    ['the highest of several', state({ groupTiers: [ENGINEERING, EXECUTIVES, HELPDESK] }), 'enterprise'],
    [
      'a lower group tier leaves it',
      state({ license: { ...defaultLicense('u1'), baseTierKey: 'enterprise' }, groupTiers: [ENGINEERING] }),
      'enterprise',
    ],
    [
      'equal ranks: the own tier',
      state({ license: { ...defaultLicense('u1'), baseTierKey: 'support' }, groupTiers: [ENGINEERING] }),
      'support',
    ],
    ['equal-ranked groups: the smaller key', state({ groupTiers: [HELPDESK, ENGINEERING] }), 'pro'],
    [
      'a trial counts as the own tier',
      state({
        license: { ...defaultLicense('u1'), baseTierKey: 'free', trial: trial('enterprise') },
        groupTiers: [ENGINEERING],
      }),
      'enterprise',
    ],
    [
      'a revoked license still shows the raised tier',
      state({ license: { ...defaultLicense('u1'), status: 'REVOKED' }, groupTiers: [ENGINEERING] }),
      'pro',
    ],
  ])('%s', (_name, s, expected) => {
    expect(effectiveTier(s, NOW).key).toBe(expected);
    expect(viewLicense(s, NOW).tier.key).toBe(expected);
    // The license's own fields are unchanged: the base tier is still the identity's.
    expect(viewLicense(s, NOW).license.baseTier.key).toBe(s.license.baseTierKey ?? 'free');
  });
});

describe('a change of group tiers as an event', () => {
  const change = (before: GroupTier[], after: GroupTier[], base = 'free') =>
    groupTierChange(
      state({ license: { ...defaultLicense('u1'), baseTierKey: base }, groupTiers: before }),
      state({ license: { ...defaultLicense('u1'), baseTierKey: base }, groupTiers: after }),
      NOW,
      'why',
    );

  it.each<[string, GroupTier[], GroupTier[], ReturnType<typeof change>]>([
    [
      'joining a mapped group: upward, access gained',
      [],
      [ENGINEERING],
      {
        fromTierKey: 'free',
        toTierKey: 'pro',
        accessChange: 'GAINED',
        reason: 'group "Engineering" gives tier pro (why)',
      },
    ],
    [
      'leaving it: downward, access lost',
      [ENGINEERING],
      [],
      {
        fromTierKey: 'pro',
        toTierKey: 'free',
        accessChange: 'LOST',
        reason: 'group "Engineering" no longer gives tier pro (why)',
      },
    ],
    [
      'a group mapped to another tier: gains and losses, so LOST',
      [ENGINEERING],
      [{ ...ENGINEERING, tierKey: 'support' }],
      {
        fromTierKey: 'pro',
        toTierKey: 'support',
        accessChange: 'LOST',
        reason: 'group "Engineering" gives tier support instead of pro (why)',
      },
    ],
    [
      'a lower group while a higher one stays: the tier stays, nothing new',
      [EXECUTIVES],
      [EXECUTIVES, HELPDESK],
      {
        fromTierKey: 'enterprise',
        toTierKey: 'enterprise',
        accessChange: null,
        reason: 'group "Helpdesk" gives tier support (why)',
      },
    ],
    ['a group renamed, same tier: no event', [ENGINEERING], [{ ...ENGINEERING, group: 'engineering' }], null],
    ['nothing changed: no event', [ENGINEERING], [ENGINEERING], null],
  ])('%s', (_name, before, after, expected) => {
    expect(change(before, after)).toEqual(expected);
  });

  it('the reason is cut to 1,000 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => group(`${'x'.repeat(40)}-${i}`, 'pro'));
    const reason = change(many, [])!.reason;
    expect([...reason]).toHaveLength(1000);
    expect(reason.endsWith('…')).toBe(true);
  });

  it('withGroupEntry replaces, adds or removes one group', () => {
    expect(withGroupEntry([ENGINEERING, HELPDESK], ENGINEERING.groupId, null)).toEqual([HELPDESK]);
    expect(withGroupEntry([HELPDESK], ENGINEERING.groupId, ENGINEERING)).toEqual([HELPDESK, ENGINEERING]);
    const remapped = { ...ENGINEERING, tierKey: 'enterprise' };
    expect(withGroupEntry([ENGINEERING], ENGINEERING.groupId, remapped)).toEqual([remapped]);
  });

  it.each<[string, Entitlement[], Entitlement[], 'GAINED' | 'LOST' | null]>([
    ['a feature gained', [], effectiveEntitlements(state({ groupTiers: [HELPDESK] }), NOW), 'GAINED'],
    ['a feature lost', effectiveEntitlements(state({ groupTiers: [HELPDESK] }), NOW), [], 'LOST'],
    [
      'a limit raised',
      effectiveEntitlements(state(), NOW),
      effectiveEntitlements(state({ groupTiers: [ENGINEERING] }), NOW).filter((e) => e.feature.key !== 'sso'),
      'GAINED',
    ],
    ['the same', effectiveEntitlements(state(), NOW), effectiveEntitlements(state(), NOW), null],
  ])('entitlementsChange: %s', (_name, before, after, expected) => {
    expect(entitlementsChange(before, after)).toBe(expected);
  });
});
