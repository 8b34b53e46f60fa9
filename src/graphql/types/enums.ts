import { registerEnumType } from 'type-graphql';

import { SCIM_USER_ID_ATTRIBUTES } from '../../domain/scim/resources';
import {
  DELIVERY_STATUSES,
  ENTITLEMENT_SOURCES,
  FEATURE_KINDS,
  LICENSE_EVENT_TYPES,
  LICENSE_STATUSES,
  METER_SCOPES,
  OVERRIDE_EFFECTS,
  USAGE_PERIODS,
} from '../../domain/types';

/** GraphQL enums whose values are exactly the domain's lists. */
const enumOf = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const FeatureKind = enumOf(FEATURE_KINDS);
export const UsagePeriod = enumOf(USAGE_PERIODS);
export const MeterScope = enumOf(METER_SCOPES);
export const OverrideEffect = enumOf(OVERRIDE_EFFECTS);
export const LicenseStatus = enumOf(LICENSE_STATUSES);
export const EntitlementSource = enumOf(ENTITLEMENT_SOURCES);
export const LicenseEventType = enumOf(LICENSE_EVENT_TYPES);
export const DeliveryStatus = enumOf(DELIVERY_STATUSES);
export const ScimUserIdAttribute = enumOf(SCIM_USER_ID_ATTRIBUTES);

registerEnumType(FeatureKind, { name: 'FeatureKind' });
registerEnumType(UsagePeriod, {
  name: 'UsagePeriod',
  description: 'Calendar periods in UTC; NEVER is a lifetime quota',
});
registerEnumType(MeterScope, { name: 'MeterScope' });
registerEnumType(OverrideEffect, { name: 'OverrideEffect' });
registerEnumType(LicenseStatus, { name: 'LicenseStatus' });
registerEnumType(EntitlementSource, { name: 'EntitlementSource' });
registerEnumType(LicenseEventType, { name: 'LicenseEventType' });
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });
registerEnumType(ScimUserIdAttribute, {
  name: 'ScimUserIdAttribute',
  description:
    "The SCIM attribute of a provisioned User that holds the identity's User id (the `sub` of its tokens)",
});
