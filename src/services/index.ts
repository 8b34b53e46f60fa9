import type { Config } from '../config';
import type { Database } from '../db/database';
import { CatalogService } from './catalog.service';
import { LicenseEventLog } from './license-event.service';
import { ExpiryService } from './expiry.service';
import { IdempotencyStore } from './idempotency';
import { LicenseStore } from './license-store';
import { LicenseService } from './license.service';
import { UsageService } from './usage.service';
import { WebhookQueue } from './webhook-queue';
import { WebhookService } from './webhook.service';

export interface Services {
  catalog: CatalogService;
  licenses: LicenseService;
  usage: UsageService;
  events: LicenseEventLog;
  idempotency: IdempotencyStore;
  expiries: ExpiryService;
  webhooks: WebhookService;
  webhookQueue: WebhookQueue;
}

export function createServices(db: Database, config: Pick<Config, 'defaultTier' | 'webhooks'>): Services {
  const catalog = new CatalogService(db);
  const webhookQueue = new WebhookQueue(db);
  const events = new LicenseEventLog(db, catalog, webhookQueue);
  const store = new LicenseStore(db, catalog, config.defaultTier);
  const idempotency = new IdempotencyStore(db);
  const expiries = new ExpiryService(db, events, config.defaultTier);
  return {
    catalog,
    licenses: new LicenseService(db, store, events, idempotency, expiries, config.defaultTier),
    usage: new UsageService(db, store, events, idempotency),
    events,
    idempotency,
    expiries,
    webhooks: new WebhookService(db, { allowPrivate: config.webhooks.allowPrivate }),
    webhookQueue,
  };
}
