import type { Config } from '../config';
import type { Database } from '../db/database';
import { CatalogService } from './catalog.service';
import { LicenseEventLog } from './license-event.service';
import { ExpiryService } from './expiry.service';
import { IdempotencyStore } from './idempotency';
import { LicenseStore } from './license-store';
import { LicenseService } from './license.service';
import { UsageService } from './usage.service';

export interface Services {
  catalog: CatalogService;
  licenses: LicenseService;
  usage: UsageService;
  events: LicenseEventLog;
  idempotency: IdempotencyStore;
  expiries: ExpiryService;
}

export function createServices(db: Database, config: Pick<Config, 'defaultTier'>): Services {
  const events = new LicenseEventLog(db);
  const catalog = new CatalogService(db);
  const store = new LicenseStore(db, config.defaultTier);
  const idempotency = new IdempotencyStore(db);
  return {
    catalog,
    licenses: new LicenseService(db, store, events, idempotency, config.defaultTier),
    usage: new UsageService(db, catalog, store, events, idempotency),
    events,
    idempotency,
    expiries: new ExpiryService(db, store, events, config.defaultTier),
  };
}
