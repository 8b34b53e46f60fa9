/**
 * Reads for deciding some features' entitlements only: the grants, overrides and usage of those features
 * (the licenses, seats, groups and organizations as always). A state read so is only good for those features.
 */
export interface FeatureFilter {
  features: readonly string[];
}

/** The condition (and its parameter) that restricts a read to the filter's features; nothing without one. */
export function featureClause(only: FeatureFilter | undefined): { clause: string; features?: string[] } {
  return only
    ? { clause: ' AND feature_key IN (:...features)', features: [...only.features] }
    : { clause: '' };
}
