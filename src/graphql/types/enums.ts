import { registerEnumType } from 'type-graphql';

import type {
  DeliveryStatus as DeliveryStatusValue,
  EntitlementSource as EntitlementSourceValue,
  FeatureKind as FeatureKindValue,
  LicenseEventType as LicenseEventTypeValue,
  LicenseStatus as LicenseStatusValue,
  UsagePeriod as UsagePeriodValue,
} from '../../domain/types';

/** GraphQL enums whose values are exactly the domain's string unions. */
const enumOf = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const FeatureKind = enumOf<FeatureKindValue>(['BOOLEAN', 'METERED', 'CONFIG']);
export const UsagePeriod = enumOf<UsagePeriodValue>(['DAY', 'WEEK', 'MONTH', 'YEAR', 'NEVER']);
export const LicenseStatus = enumOf<LicenseStatusValue>(['ACTIVE', 'REVOKED']);
export const EntitlementSource = enumOf<EntitlementSourceValue>(['TIER', 'TRIAL', 'GRANT']);
export const LicenseEventType = enumOf<LicenseEventTypeValue>([
  'ENTITLEMENT_GRANTED',
  'ENTITLEMENT_REVOKED',
  'ENTITLEMENT_EXPIRED',
  'TIER_CHANGED',
  'TRIAL_STARTED',
  'TRIAL_ENDED',
  'LICENSE_REVOKED',
  'LICENSE_RESTORED',
  'USAGE_LIMIT_REACHED',
]);

export const DeliveryStatus = enumOf<DeliveryStatusValue>(['PENDING', 'DELIVERED', 'FAILED']);

registerEnumType(FeatureKind, { name: 'FeatureKind' });
registerEnumType(UsagePeriod, {
  name: 'UsagePeriod',
  description: 'Calendar periods in UTC; NEVER is a lifetime quota',
});
registerEnumType(LicenseStatus, { name: 'LicenseStatus' });
registerEnumType(EntitlementSource, { name: 'EntitlementSource' });
registerEnumType(LicenseEventType, { name: 'LicenseEventType' });
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });
