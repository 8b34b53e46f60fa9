import type { Config } from '../config';
import type { Database } from '../db/database';
import { CatalogService } from './catalog.service';
import { LicenseEventLog } from './license-event.service';
import { LicenseService } from './license.service';

export interface Services {
  catalog: CatalogService;
  licenses: LicenseService;
  events: LicenseEventLog;
}

export function createServices(db: Database, config: Pick<Config, 'defaultTier'>): Services {
  const events = new LicenseEventLog(db);
  return {
    catalog: new CatalogService(db),
    licenses: new LicenseService(db, events, config.defaultTier),
    events,
  };
}
