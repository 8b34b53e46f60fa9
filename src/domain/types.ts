/** The licensing model as the rules see it: plain data, no database or GraphQL types. */

export type FeatureKind = 'BOOLEAN' | 'METERED' | 'CONFIG';
export type UsagePeriod = 'DAY' | 'WEEK' | 'MONTH' | 'YEAR' | 'NEVER';
export type LicenseStatus = 'ACTIVE' | 'REVOKED';
export type EntitlementSource = 'TIER' | 'TRIAL' | 'GRANT';
export type LicenseEventType =
  | 'ENTITLEMENT_GRANTED'
  | 'ENTITLEMENT_REVOKED'
  | 'ENTITLEMENT_EXPIRED'
  | 'TIER_CHANGED'
  | 'TRIAL_STARTED'
  | 'TRIAL_ENDED'
  | 'LICENSE_REVOKED'
  | 'LICENSE_RESTORED'
  | 'USAGE_LIMIT_REACHED';

/** A JSON value as stored for CONFIG features; `null` means "no value". */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Feature {
  key: string;
  kind: FeatureKind;
  description: string | null;
  usagePeriod: UsagePeriod;
}

export interface TierEntitlement {
  feature: Feature;
  limit: number | null;
  value: JsonValue;
}

export interface Tier {
  key: string;
  name: string;
  rank: number;
  entitlements: TierEntitlement[];
}

export interface Catalog {
  features: ReadonlyMap<string, Feature>;
  tiers: ReadonlyMap<string, Tier>;
}

export interface Trial {
  tierKey: string;
  startedAt: Date;
  endsAt: Date;
}

export interface License {
  userId: string;
  /** null: the configured DEFAULT_TIER, so changing that setting moves every untouched identity. */
  baseTierKey: string | null;
  status: LicenseStatus;
  revokedAt: Date | null;
  revokeReason: string | null;
  trial: Trial | null;
  updatedAt: Date;
}

export interface Grant {
  id: string;
  userId: string;
  featureKey: string;
  limit: number | null;
  value: JsonValue;
  startsAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  grantedBy: string;
  reason: string | null;
  createdAt: Date;
}

export interface Entitlement {
  feature: Feature;
  source: EntitlementSource;
  grants: Grant[];
  limit: number | null;
  used: number | null;
  remaining: number | null;
  value: JsonValue;
  expiresAt: Date | null;
}

export interface UsageMeter {
  feature: Feature;
  used: number;
  limit: number | null;
  remaining: number | null;
  periodStart: Date;
  periodEnd: Date | null;
}

export interface LicenseEvent {
  id: string;
  type: LicenseEventType;
  userId: string;
  featureKey: string | null;
  grantId: string | null;
  fromTierKey: string | null;
  toTierKey: string | null;
  actor: string;
  reason: string | null;
  occurredAt: Date;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Empty: every type. */
  eventTypes: LicenseEventType[];
  enabled: boolean;
  createdAt: Date;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  event: LicenseEvent;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
}
