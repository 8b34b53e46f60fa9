import type { Config } from '../config';
import type { Database } from '../db/database';
import type { CommittedEvents } from '../events/committed-events';
import { CatalogService } from './catalog.service';
import { LicenseEventLog } from './license-event.service';
import { ExpiryService } from './expiry.service';
import { IdempotencyStore } from './idempotency';
import { LicenseStore } from './license-store';
import { LicenseService } from './license.service';
import { UsageService } from './usage.service';
import { WebhookQueue } from '../db/webhook-queue';
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
  webhookQueue: WebhookQueue;
}

/** `committed` is raised after each commit that stored events (live delivery listens to it). */
export function createServices(
  db: Database,
  config: Pick<Config, 'defaultTier' | 'webhooks'>,
  committed: CommittedEvents,
): Services {
  const catalog = new CatalogService(db);
  const webhookQueue = new WebhookQueue(db);
  const licenseEventLog = new LicenseEventLog(db, webhookQueue, committed);
  const store = new LicenseStore(db, catalog, config.defaultTier);
  const idempotency = new IdempotencyStore(db);
  const expiries = new ExpiryService(db, licenseEventLog, config.defaultTier);
  return {
    catalog,
    licenses: new LicenseService(db, store, licenseEventLog, idempotency, expiries, config.defaultTier),
    usage: new UsageService(db, store, licenseEventLog, idempotency),
    licenseEventLog,
    idempotency,
    expiries,
    webhooks: new WebhookService(db, { allowPrivate: config.webhooks.allowPrivate }),
    webhookQueue,
  };
}
