export { FeatureRow } from './feature.entity';
export { GrantRow } from './grant.entity';
export { IdempotencyKeyRow } from './idempotency-key.entity';
export { LicenseEventRow } from './license-event.entity';
export { LicenseRow } from './license.entity';
export { TierEntitlementRow } from './tier-entitlement.entity';
export { TierRow } from './tier.entity';
export { UsageCounterRow } from './usage-counter.entity';
