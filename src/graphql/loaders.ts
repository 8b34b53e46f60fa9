import DataLoader from 'dataloader';

import type { Caller } from '../auth/caller';
import type { LicenseView } from '../domain/effective';
import { effectiveEntitlement, entitlementIn, resolveTier } from '../domain/effective';
import type { Catalog, Entitlement, Feature, Grant, Tier } from '../domain/types';
import type { Services } from '../services';
import type { LicenseRead } from '../services/license.service';
import type { OrganizationView, SeatPage, SeatPageRequest } from '../services/organization.service';

/** A read of a user's license: the whole view (feature null), or for a check of one feature. */
interface LicenseKey {
  userId: string;
  feature: string | null;
}

/**
 * Per-request batching: however many users, grants and features a query touches, each lookup
 * becomes one call to its service. Nothing here outlives the request, so no cache can hide a revocation.
 */
export class Loaders {
  // Made on first use: a subscription's context lives as long as its socket, mostly without reading.
  private licenseLoader: DataLoader<LicenseKey, LicenseRead, string> | undefined;
  /** The users whose whole view this request reads: their checks read it too, not a state of their own. */
  private readonly viewed = new Set<string>();
  private grantLoader: DataLoader<string, Grant | null> | undefined;
  private organizationLoader: DataLoader<string, OrganizationView> | undefined;
  private seatPageLoader: DataLoader<SeatPageRequest, SeatPage, string> | undefined;
  private catalogPromise: Promise<Catalog> | undefined;

  constructor(
    private readonly services: Services,
    private readonly caller: Caller,
  ) {}

  /** The user's license view. */
  view(userId: string): Promise<LicenseView> {
    this.viewed.add(userId);
    return this.licenses.load({ userId, feature: null }) as Promise<LicenseView>;
  }

  /**
   * The user's entitlement to one feature (undefined: not entitled), as one organization sees it when given
   * (rule O3). Checks read only the features they ask about, unless the request reads the user's whole view.
   */
  async entitlement(
    userId: string,
    feature: string,
    organizationId: string | null,
  ): Promise<Entitlement | undefined> {
    const read = await this.licenses.load({ userId, feature: this.viewed.has(userId) ? null : feature });
    return 'entitlements' in read
      ? entitlementIn(read, feature, organizationId)
      : effectiveEntitlement(read.state, read.now, organizationId, feature);
  }

  /**
   * Views and checks of one tick in one batch of reads: of the features checked only, unless a view is
   * among them.
   */
  private get licenses(): DataLoader<LicenseKey, LicenseRead, string> {
    this.licenseLoader ??= new DataLoader(
      async (keys) => {
        const userIds = [...new Set(keys.map((key) => key.userId))];
        const features = keys.some((key) => key.feature === null)
          ? undefined
          : [...new Set(keys.map((key) => key.feature!))];
        const { views, catalog } = await this.services.licenses.view(this.caller, userIds, features);
        // The rest of the request resolves features and tiers against the catalog the views were read with.
        if (catalog) this.catalogPromise ??= Promise.resolve(catalog);
        const byUser = new Map(userIds.map((userId, i) => [userId, views[i]]));
        return keys.map((key) => byUser.get(key.userId)!);
      },
      { maxBatchSize: 10_000, cacheKeyFn: (key) => `${key.userId}\u0000${key.feature ?? ''}` },
    );
    return this.licenseLoader;
  }

  get organization(): DataLoader<string, OrganizationView> {
    this.organizationLoader ??= new DataLoader((ids) => this.services.organizations.view(this.caller, ids), {
      maxBatchSize: 10_000,
    });
    return this.organizationLoader;
  }

  /** Organization.seats, keyed by organization and page: a list of organizations reads its seats at once. */
  get seatPage(): DataLoader<SeatPageRequest, SeatPage, string> {
    this.seatPageLoader ??= new DataLoader(
      (pages) => this.services.organizations.seatPages(this.caller, pages),
      {
        cacheKeyFn: ({ organizationId, first, after }) =>
          JSON.stringify([organizationId, first ?? null, after ?? null]),
        maxBatchSize: 10_000,
      },
    );
    return this.seatPageLoader;
  }

  get grant(): DataLoader<string, Grant | null> {
    this.grantLoader ??= new DataLoader((ids) => this.services.licenses.grantsByIds(this.caller, ids));
    return this.grantLoader;
  }

  /** Forgets everything read so far, so that reads after a change see it. */
  clear(): void {
    this.catalogPromise = undefined;
    this.licenseLoader?.clearAll();
    this.viewed.clear();
    this.organizationLoader?.clearAll();
    this.seatPageLoader?.clearAll();
    this.grantLoader?.clearAll();
  }

  /** Starts over from what delivery read for an event, so a subscription resolves it without a query. */
  useDelivered(catalog: Catalog, grant: Grant | null): void {
    this.clear();
    this.catalogPromise = Promise.resolve(catalog);
    if (grant) this.grant.prime(grant.id, grant);
  }

  /** The catalog, read once per request. */
  catalog(): Promise<Catalog> {
    this.catalogPromise ??= this.services.catalog.load(this.caller);
    return this.catalogPromise;
  }

  async feature(key: string): Promise<Feature | null> {
    return (await this.catalog()).features.get(key) ?? null;
  }

  async tier(key: string): Promise<Tier> {
    return resolveTier(await this.catalog(), key);
  }
}
