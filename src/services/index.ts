import type { Config } from '../config';
import type { CatalogStore } from '../db/catalog-store';
import type { Database } from '../db/database';
import { LicenseStore } from '../db/license-store';
import { OrganizationStore } from '../db/organization-store';
import { ScimStore } from '../db/scim-store';
import type { WebhookQueue } from '../db/webhook-queue';
import type { CommittedEvents } from '../events/committed-events';
import { CatalogService } from './catalog.service';
import { ExpiryService } from './expiry.service';
import { GroupTierService } from './group-tier.service';
import { IdempotencyStore } from './idempotency';
import { LicenseService } from './license.service';
import { LicenseEventLog } from './license-event.service';
import type { LicenseKeyRing } from './license-keys';
import { LicenseTokenService } from './license-token.service';
import { OrganizationService } from './organization.service';
import { OverrideService } from './override.service';
import { ScimService } from './scim.service';
import { ScimTokenService } from './scim-token.service';
import { UsageService } from './usage.service';
import { WebhookService } from './webhook.service';

export interface Services {
  catalog: CatalogService;
  licenses: LicenseService;
  organizations: OrganizationService;
  overrides: OverrideService;
  licenseTokens: LicenseTokenService;
  usage: UsageService;
  /** The audit trail: writes events with each change, pages through them. */
  licenseEventLog: LicenseEventLog;
  idempotency: IdempotencyStore;
  expiries: ExpiryService;
  webhooks: WebhookService;
  /** SCIM provisioning: the directories and their effect on licenses and seats. */
  scim: ScimService;
  scimTokens: ScimTokenService;
  /** Tiers from SCIM groups (setGroupTier). */
  groupTiers: GroupTierService;
}

/** What the services share with live delivery: the catalog cache, the webhook queue, the commit signal. */
export interface SharedWithDelivery {
  catalogStore: CatalogStore;
  webhookQueue: WebhookQueue;
  committed: CommittedEvents;
}

export function createServices(
  db: Database,
  config: Pick<Config, 'defaultTier' | 'webhooks' | 'licenseTokens'>,
  { catalogStore, webhookQueue, committed }: SharedWithDelivery,
  licenseKeys: LicenseKeyRing,
): Services {
  const catalog = new CatalogService(db, catalogStore);
  const licenseEventLog = new LicenseEventLog(db, webhookQueue, committed);
  const store = new LicenseStore(db, catalogStore, config.defaultTier);
  const idempotency = new IdempotencyStore(db);
  const overrides = new OverrideService(db, store, licenseEventLog);
  const expiries = new ExpiryService(db, licenseEventLog, config.defaultTier, overrides);
  const organizations = new OrganizationService(db, new OrganizationStore(db), catalogStore, licenseEventLog);
  const licenses = new LicenseService(
    db,
    store,
    licenseEventLog,
    idempotency,
    expiries,
    organizations,
    config.defaultTier,
  );
  const scimStore = new ScimStore(db);
  const groupTiers = new GroupTierService(db, scimStore, store, licenseEventLog);
  return {
    catalog,
    licenses,
    organizations,
    overrides,
    licenseTokens: new LicenseTokenService(licenseKeys, config.licenseTokens.issuer),
    usage: new UsageService(db, store, licenseEventLog, idempotency),
    licenseEventLog,
    idempotency,
    expiries,
    webhooks: new WebhookService(db, { allowPrivate: config.webhooks.allowPrivate }),
    scim: new ScimService(db, scimStore, licenses, organizations, groupTiers),
    scimTokens: new ScimTokenService(db),
    groupTiers,
  };
}
