/**
 * Reads for judging uses of some features only: the grants, overrides and usage of those features (the
 * licenses, seats, groups and organizations as always), and no pooled usage unless asked for (whoever draws
 * on a pool reads it under the pool's lock). A state read so is only good for those features' decisions.
 */
export interface FeatureFilter {
  features: readonly string[];
  /** The organizations' pooled usage of those features too: for a check, which takes no lock. */
  pooledUsage?: boolean;
}

/** The condition (and its parameter) that restricts a read to the filter's features; nothing without one. */
export function featureClause(only: FeatureFilter | undefined): { clause: string; features?: string[] } {
  return only
    ? { clause: ' AND feature_key IN (:...features)', features: [...only.features] }
    : { clause: '' };
}
