/** The licensing model as the rules see it: plain data, no database or GraphQL types. */

// Each list is written once here; the types and the GraphQL enums are derived from it.
export const FEATURE_KINDS = ['BOOLEAN', 'METERED', 'CONFIG'] as const;
export const USAGE_PERIODS = ['DAY', 'WEEK', 'MONTH', 'YEAR', 'NEVER'] as const;
export const LICENSE_STATUSES = ['ACTIVE', 'REVOKED'] as const;
export const METER_SCOPES = ['USER', 'ORGANIZATION'] as const;
export const ENTITLEMENT_SOURCES = ['TIER', 'TRIAL', 'GRANT', 'ORGANIZATION', 'OVERRIDE'] as const;
export const OVERRIDE_EFFECTS = ['DENY', 'LIMIT', 'VALUE'] as const;
export const LICENSE_EVENT_TYPES = [
  'ENTITLEMENT_GRANTED',
  'ENTITLEMENT_REVOKED',
  'ENTITLEMENT_EXPIRED',
  'TIER_CHANGED',
  'TRIAL_STARTED',
  'TRIAL_ENDED',
  'LICENSE_REVOKED',
  'LICENSE_RESTORED',
  'USAGE_LIMIT_REACHED',
  'SEAT_ASSIGNED',
  'SEAT_UNASSIGNED',
  'ORGANIZATION_LICENSE_CHANGED',
  'ORGANIZATION_LICENSE_REVOKED',
  'ORGANIZATION_LICENSE_RESTORED',
  'OVERRIDE_SET',
  'OVERRIDE_REMOVED',
  'OVERRIDE_EXPIRED',
  'USAGE_THRESHOLD_REACHED',
] as const;
export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;

export type FeatureKind = (typeof FEATURE_KINDS)[number];
export type UsagePeriod = (typeof USAGE_PERIODS)[number];
export type MeterScope = (typeof METER_SCOPES)[number];
export type OverrideEffect = (typeof OVERRIDE_EFFECTS)[number];
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];
export type EntitlementSource = (typeof ENTITLEMENT_SOURCES)[number];
export type LicenseEventType = (typeof LICENSE_EVENT_TYPES)[number];
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A JSON value as stored for CONFIG features; `null` means "no value". */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Feature {
  key: string;
  kind: FeatureKind;
  description: string | null;
  usagePeriod: UsagePeriod;
  /** METERED: one counter per user (USER) or one pooled per organization (ORGANIZATION). */
  meterScope: MeterScope;
  /** Percentages of the limit (1 to 99) whose crossing raises USAGE_THRESHOLD_REACHED. */
  alertThresholds: number[];
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

export interface OrganizationLicense {
  organizationId: string;
  tierKey: string;
  /** null: unlimited. */
  seatLimit: number | null;
  seatsUsed: number;
  status: LicenseStatus;
  revokedAt: Date | null;
  revokeReason: string | null;
  updatedAt: Date;
}

export interface Seat {
  /** Increasing: the cursor of an organization's seats, oldest first. */
  id: string;
  organizationId: string;
  userId: string;
  assignedAt: Date;
  assignedBy: string;
}

/**
 * A tier an identity has through a SCIM group of the identity directory (rule S4): the group's name mapped to a
 * tier by setGroupTier.
 */
export interface GroupTier {
  /** The SCIM Group's id. */
  groupId: string;
  /** Its displayName, for the audit trail. */
  group: string;
  tierKey: string;
}

/** A grant to one identity (`userId`) or to an organization as a whole (`organizationId`). */
export interface Grant {
  id: string;
  userId: string | null;
  organizationId: string | null;
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
  /** The organizations whose seats contribute, by id. */
  organizations: string[];
  /** A pooled feature: each organization pool the identity may draw on. */
  pools: PoolMeter[];
  /** The active override that decides this entitlement's limit or value. */
  override: Override | null;
  limit: number | null;
  used: number | null;
  remaining: number | null;
  value: JsonValue;
  expiresAt: Date | null;
}

/** An admin's adjustment of one feature for one identity, applied after every other source (rule V1). */
export interface Override {
  id: string;
  userId: string;
  featureKey: string;
  effect: OverrideEffect;
  limit: number | null;
  value: JsonValue;
  expiresAt: Date | null;
  reason: string | null;
  createdBy: string;
  createdAt: Date;
  /** When it was replaced or removed; null while it stands (or once it ran out). */
  endedAt: Date | null;
}

/** What one organization's pool holds for a pooled feature. */
export interface PoolMeter {
  organizationId: string;
  limit: number | null;
  used: number;
}

export interface UsageMeter {
  feature: Feature;
  /** Set on a pooled meter. */
  organizationId: string | null;
  used: number;
  limit: number | null;
  remaining: number | null;
  periodStart: Date;
  periodEnd: Date | null;
}

export interface LicenseEvent {
  id: string;
  type: LicenseEventType;
  /** null on an organization's event (other than SEAT_*). */
  userId: string | null;
  organizationId: string | null;
  featureKey: string | null;
  grantId: string | null;
  fromTierKey: string | null;
  toTierKey: string | null;
  actor: string;
  reason: string | null;
  /** USAGE_THRESHOLD_REACHED: the percentage reached. */
  threshold: number | null;
  /** Set when the service that stored the event decided whether it gave or took access. */
  accessChange: 'GAINED' | 'LOST' | null;
  occurredAt: Date;
}

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
