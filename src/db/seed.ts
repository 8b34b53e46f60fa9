import type { DataSource } from 'typeorm';

import type { FeatureKind, UsagePeriod } from '../domain/types';
import { bumpCatalogVersion } from './catalog-store';
import { FeatureRow, TierEntitlementRow, TierRow } from './entities';
import { toTierEntitlementRow } from './mappers';

interface DemoFeature {
  key: string;
  kind: FeatureKind;
  description: string;
  usagePeriod: UsagePeriod;
}

const FEATURES: DemoFeature[] = [
  { key: 'api.calls', kind: 'METERED', description: 'API calls per month', usagePeriod: 'MONTH' },
  {
    key: 'projects',
    kind: 'METERED',
    description: 'Projects a user may create (lifetime)',
    usagePeriod: 'NEVER',
  },
  { key: 'export.pdf', kind: 'BOOLEAN', description: 'Export reports as PDF', usagePeriod: 'MONTH' },
  { key: 'sso', kind: 'BOOLEAN', description: 'Single sign-on', usagePeriod: 'MONTH' },
  {
    key: 'support.level',
    kind: 'CONFIG',
    description: 'Support channel and response time',
    usagePeriod: 'MONTH',
  },
];

const TIERS = [
  {
    key: 'free',
    name: 'Free',
    rank: 0,
    entitlements: [
      { featureKey: 'api.calls', limit: 1000, value: null },
      { featureKey: 'projects', limit: 3, value: null },
      { featureKey: 'support.level', limit: null, value: { channel: 'community' } },
    ],
  },
  {
    key: 'pro',
    name: 'Pro',
    rank: 10,
    entitlements: [
      { featureKey: 'api.calls', limit: 100_000, value: null },
      { featureKey: 'projects', limit: 50, value: null },
      { featureKey: 'export.pdf', limit: null, value: null },
      { featureKey: 'support.level', limit: null, value: { channel: 'email', responseHours: 24 } },
    ],
  },
  {
    key: 'enterprise',
    name: 'Enterprise',
    rank: 20,
    entitlements: [
      { featureKey: 'api.calls', limit: null, value: null },
      { featureKey: 'projects', limit: null, value: null },
      { featureKey: 'export.pdf', limit: null, value: null },
      { featureKey: 'sso', limit: null, value: null },
      { featureKey: 'support.level', limit: null, value: { channel: 'phone', responseHours: 1 } },
    ],
  },
];

/** A small catalog so a fresh `npm start` has something real to show; only into an empty catalog. */
export async function seedDemoCatalog(dataSource: DataSource): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const existing = (await manager.count(FeatureRow)) + (await manager.count(TierRow));
    if (existing > 0) return;
    const now = new Date();
    await bumpCatalogVersion(manager);
    await manager.insert(
      FeatureRow,
      FEATURES.map((feature) => ({ ...feature, createdAt: now, updatedAt: now })),
    );
    for (const { entitlements, ...tier } of TIERS) {
      await manager.insert(TierRow, { ...tier, createdAt: now, updatedAt: now });
      await manager.insert(
        TierEntitlementRow,
        entitlements.map((entitlement) => toTierEntitlementRow({ ...entitlement, tierKey: tier.key })),
      );
    }
  });
}
