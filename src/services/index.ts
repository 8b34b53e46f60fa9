import type { Config } from '../config';
import type { CatalogStore } from '../db/catalog-store';
import type { Database } from '../db/database';
import { LicenseStore } from '../db/license-store';
import { ScimStore } from '../db/scim-store';
import type { WebhookQueue } from '../db/webhook-queue';
import type { CommittedEvents } from '../events/committed-events';
import { CatalogService } from './catalog.service';
import { ExpiryService } from './expiry.service';
import { IdempotencyStore } from './idempotency';
import { LicenseService } from './license.service';
import { LicenseEventLog } from './license-event.service';
import { ScimService } from './scim.service';
import { ScimTokenService } from './scim-token.service';
import { UsageService } from './usage.service';
import { WebhookService } from './webhook.service';

export interface Services {
  catalog: CatalogService;
  licenses: LicenseService;
  usage: UsageService;
  /** The audit trail: writes events with each change, pages through them. */
  licenseEventLog: LicenseEventLog;
  idempotency: IdempotencyStore;
  expiries: ExpiryService;
  webhooks: WebhookService;
  /** SCIM provisioning: the directories and their effect on licenses. */
  scim: ScimService;
  scimTokens: ScimTokenService;
}

/** What the services share with live delivery: the catalog cache, the webhook queue, the commit signal. */
export interface SharedWithDelivery {
  catalogStore: CatalogStore;
  webhookQueue: WebhookQueue;
  committed: CommittedEvents;
}

export function createServices(
  db: Database,
  config: Pick<Config, 'defaultTier' | 'webhooks'>,
  { catalogStore, webhookQueue, committed }: SharedWithDelivery,
): Services {
  const catalog = new CatalogService(db, catalogStore);
  const licenseEventLog = new LicenseEventLog(db, webhookQueue, committed);
  const store = new LicenseStore(db, catalogStore, config.defaultTier);
  const idempotency = new IdempotencyStore(db);
  const expiries = new ExpiryService(db, licenseEventLog, config.defaultTier);
  const licenses = new LicenseService(db, store, licenseEventLog, idempotency, expiries, config.defaultTier);
  return {
    catalog,
    licenses,
    usage: new UsageService(db, store, licenseEventLog, idempotency),
    licenseEventLog,
    idempotency,
    expiries,
    webhooks: new WebhookService(db, { allowPrivate: config.webhooks.allowPrivate }),
    scim: new ScimService(db, new ScimStore(db), licenses),
    scimTokens: new ScimTokenService(db),
  };
}
