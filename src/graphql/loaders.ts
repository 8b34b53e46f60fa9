import DataLoader from 'dataloader';

import type { Caller } from '../auth/caller';
import type { LicenseView } from '../domain/effective';
import { resolveTier } from '../domain/effective';
import type { Catalog, Feature, Grant, Tier } from '../domain/types';
import type { Services } from '../services';
import type { OrganizationView, SeatPage, SeatPageRequest } from '../services/organization.service';

/**
 * Per-request batching: however many users, grants and features a query touches, each lookup
 * becomes one call to its service. Nothing here outlives the request, so no cache can hide a revocation.
 */
export class Loaders {
  // Made on first use: a subscription's context lives as long as its socket, mostly without reading.
  private licenseLoader: DataLoader<string, LicenseView> | undefined;
  private grantLoader: DataLoader<string, Grant | null> | undefined;
  private organizationLoader: DataLoader<string, OrganizationView> | undefined;
  private seatPageLoader: DataLoader<SeatPageRequest, SeatPage, string> | undefined;
  private catalogPromise: Promise<Catalog> | undefined;

  constructor(
    private readonly services: Services,
    private readonly caller: Caller,
  ) {}

  get license(): DataLoader<string, LicenseView> {
    this.licenseLoader ??= new DataLoader(
      async (userIds) => {
        const { views, catalog } = await this.services.licenses.view(this.caller, userIds);
        // The rest of the request resolves features and tiers against the catalog the views were read with.
        if (catalog) this.catalogPromise ??= Promise.resolve(catalog);
        return views;
      },
      { maxBatchSize: 10_000 },
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
