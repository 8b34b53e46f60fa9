import { InitialSchema1764378000000 } from './1764378000000-initial-schema';
import { UsageAndIdempotency1764460000000 } from './1764460000000-usage-and-idempotency';
import { EventDelivery1764540000000 } from './1764540000000-event-delivery';
import { Webhooks1764620000000 } from './1764620000000-webhooks';
import { CatalogVersion1764700000000 } from './1764700000000-catalog-version';
import { IdempotencyPerCaller1764780000000 } from './1764780000000-idempotency-per-caller';
import { CatalogChanges1764860000000 } from './1764860000000-catalog-changes';
import { Organizations1764940000000 } from './1764940000000-organizations';
import { Scim1765020000000 } from './1765020000000-scim';
import { OverridesAndAlerts1765060000000 } from './1765060000000-overrides-and-alerts';
import { LicenseSigningKeys1765100000000 } from './1765100000000-license-signing-keys';
import { ScimGroupTiers1765140000000 } from './1765140000000-scim-group-tiers';

/** Every migration, oldest first. */
export const migrations = [
  InitialSchema1764378000000,
  UsageAndIdempotency1764460000000,
  EventDelivery1764540000000,
  Webhooks1764620000000,
  CatalogVersion1764700000000,
  IdempotencyPerCaller1764780000000,
  CatalogChanges1764860000000,
  Organizations1764940000000,
  Scim1765020000000,
  OverridesAndAlerts1765060000000,
  LicenseSigningKeys1765100000000,
  ScimGroupTiers1765140000000,
];
