import type {
  Feature,
  Grant,
  JsonValue,
  License,
  LicenseEvent,
  OrganizationLicense,
  Override,
  Seat,
  Tier,
} from '../domain/types';
import type {
  FeatureRow,
  GrantRow,
  LicenseEventRow,
  LicenseRow,
  OrganizationLicenseRow,
  OverrideRow,
  SeatRow,
  TierEntitlementRow,
  TierRow,
} from './entities';

/** Rows to the domain model. The rules never see a row, so they stay independent of storage. */

export function toFeature(row: FeatureRow): Feature {
  return {
    key: row.key,
    kind: row.kind,
    description: row.description,
    usagePeriod: row.usagePeriod,
    meterScope: row.meterScope,
    alertThresholds: row.alertThresholds,
  };
}

export function toTier(
  row: TierRow,
  entries: TierEntitlementRow[],
  features: ReadonlyMap<string, Feature>,
): Tier {
  return {
    key: row.key,
    name: row.name,
    rank: row.rank,
    entitlements: entries
      .filter((entry) => features.has(entry.featureKey))
      .map((entry) => {
        const feature = features.get(entry.featureKey) as Feature;
        // A feature whose kind changed keeps its old rows; only what its kind means is shown.
        return {
          feature,
          limit: feature.kind === 'METERED' ? entry.limit : null,
          value: feature.kind === 'CONFIG' ? (entry.value as JsonValue) : null,
        };
      }),
  };
}

export function toLicense(row: LicenseRow): License {
  return {
    userId: row.userId,
    baseTierKey: row.baseTierKey,
    status: row.status,
    revokedAt: row.revokedAt,
    revokeReason: row.revokeReason,
    trial:
      row.trialTierKey && row.trialStartedAt && row.trialEndsAt
        ? { tierKey: row.trialTierKey, startedAt: row.trialStartedAt, endsAt: row.trialEndsAt }
        : null,
    updatedAt: row.updatedAt,
  };
}

export function toGrant(row: GrantRow): Grant {
  // Field by field rather than a rest spread: this runs for every grant of every user read.
  return {
    id: row.id,
    userId: row.userId,
    organizationId: row.organizationId,
    featureKey: row.featureKey,
    limit: row.limit,
    value: row.value as JsonValue,
    startsAt: row.startsAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    revokeReason: row.revokeReason,
    grantedBy: row.grantedBy,
    reason: row.reason,
    createdAt: row.createdAt,
  };
}

export function toGrantRow(grant: Grant): GrantRow {
  return { ...grant, expiryRecordedAt: null };
}

export function toTierEntitlementRow(entry: {
  tierKey: string;
  featureKey: string;
  limit: number | null;
  value: JsonValue;
}): TierEntitlementRow {
  return { tierKey: entry.tierKey, featureKey: entry.featureKey, limit: entry.limit, value: entry.value };
}

export function toLicenseEvent(row: LicenseEventRow): LicenseEvent {
  return { ...row, id: String(row.id) };
}

export function toOrganizationLicense(row: OrganizationLicenseRow): OrganizationLicense {
  return {
    organizationId: row.organizationId,
    tierKey: row.tierKey,
    seatLimit: row.seatLimit,
    seatsUsed: row.seatsUsed,
    status: row.status,
    revokedAt: row.revokedAt,
    revokeReason: row.revokeReason,
    updatedAt: row.updatedAt,
  };
}

export function toSeat(row: SeatRow): Seat {
  return {
    id: String(row.id),
    organizationId: row.organizationId,
    userId: row.userId,
    assignedAt: row.assignedAt,
    assignedBy: row.assignedBy,
  };
}

export function toOverride(row: OverrideRow): Override {
  return {
    id: row.id,
    userId: row.userId,
    featureKey: row.featureKey,
    effect: row.effect,
    limit: row.limit,
    value: row.value as JsonValue,
    expiresAt: row.expiresAt,
    reason: row.reason,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    endedAt: row.endedAt,
  };
}
