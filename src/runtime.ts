import type { DataSource } from 'typeorm';

import { createAuthenticator } from './auth/token-verifier';
import type { Config } from './config';
import { CatalogStore } from './db/catalog-store';
import { isDatabaseUnavailable } from './db/connection-errors';
import { Database } from './db/database';
import { LicenseKeyStore } from './db/license-key-store';
import { WebhookQueue } from './db/webhook-queue';
import type { LiveDelivery } from './events';
import { CommittedEvents } from './events/committed-events';
import { EventFeed } from './events/event-feed';
import { EventReader } from './events/event-reader';
import type { EventNotifier } from './events/notifier';
import { LocalNotifier, RedisNotifier } from './events/notifier';
import { WebhookDispatcher } from './events/webhook-dispatcher';
import type { Logger } from './logger';
import type { RunningApp } from './server/app';
import { startApp } from './server/app';
import { Metrics } from './server/metrics';
import type { Services, SharedWithDelivery } from './services';
import { createServices } from './services';
import { loadLicenseKeys } from './services/license-keys';

/** Half a second keeps expiry pushes within the contract's 2 seconds. */
const EXPIRY_SWEEP_INTERVAL_MS = 500;
const WEBHOOK_POLL_INTERVAL_MS = 1000;
/**
 * Idempotency keys (kept 24 hours) and finished webhook deliveries (kept WEBHOOK_DELIVERY_RETENTION_DAYS) are
 * pruned hourly; every replica prunes, which is harmless (DELETEs by age).
 */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SubgraphOptions {
  /**
   * false: no work of its own besides requests (the event feed does not read, nothing sweeps, dispatches or
   * prunes), so that a benchmark counts only what requests do. Default true.
   */
  backgroundJobs?: boolean;
}

export interface Subgraph {
  db: Database;
  services: Services;
  live: LiveDelivery;
  app: RunningApp;
  /** Stops the transport, then the background work; the data source stays the caller's to close. */
  stop(): Promise<void>;
}

/**
 * The one place where the subgraph is wired, for main.ts, the tests and the benchmarks: services, the
 * transport, and every background job (event feed, webhook dispatch, expiry sweeps, idempotency pruning).
 */
export async function startSubgraph(
  config: Config,
  dataSource: DataSource,
  logger: Logger,
  options: SubgraphOptions = {},
): Promise<Subgraph> {
  const db = new Database(dataSource);
  const shared: SharedWithDelivery = {
    catalogStore: new CatalogStore(db),
    webhookQueue: new WebhookQueue(db),
    committed: new CommittedEvents(),
  };
  const licenseKeys = await loadLicenseKeys(config.licenseTokens.signingKeys, new LicenseKeyStore(db));
  const services = createServices(db, config, shared, licenseKeys);
  const authenticator = await createAuthenticator(config);
  const metrics = new Metrics(db);
  const onError = logBackgroundError(logger);
  const notifier: EventNotifier = config.redisUrl
    ? new RedisNotifier(config.redisUrl, onError)
    : new LocalNotifier();
  const feed = new EventFeed(new EventReader(db, shared.catalogStore), {
    pollIntervalMs: config.eventPollIntervalMs,
    onError,
  });
  const live: LiveDelivery = { feed, notifier };
  const stopJobs =
    options.backgroundJobs === false
      ? async () => undefined
      : await startBackgroundJobs(config, services, shared, live, metrics, logger, onError);
  const app = await startApp({ config, db, services, live, authenticator, logger, metrics });
  return {
    db,
    services,
    live,
    app,
    async stop() {
      await app.stop();
      await stopJobs();
      await notifier.close();
    },
  };
}

/**
 * Commits notify (through Redis when configured); notices wake the feed and the webhook dispatcher; the
 * sweeper records expiries as they come due; old idempotency keys and finished webhook deliveries are pruned.
 * Returns the way to stop them.
 */
async function startBackgroundJobs(
  config: Config,
  services: Services,
  { webhookQueue, committed }: SharedWithDelivery,
  { feed, notifier }: LiveDelivery,
  metrics: Metrics,
  logger: Logger,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  await feed.start();
  const webhooks = new WebhookDispatcher(webhookQueue, {
    ...config.webhooks,
    // Short retry delays (tests, impatient receivers) are honoured without waiting for the next look.
    pollIntervalMs: Math.max(50, Math.min(WEBHOOK_POLL_INTERVAL_MS, config.webhooks.retryBaseMs)),
    onError,
    onAttempt: (result, delivery) => {
      metrics.liveObservers.onWebhookAttempt?.(result.outcome);
      if (result.outcome !== 'delivered') {
        const { id, endpointId, attempts } = delivery;
        logger.warn({ deliveryId: id, endpointId, attempts, ...result }, 'webhook attempt failed');
      }
    },
  });
  webhooks.start();
  notifier.onNotice(() => {
    feed.wake();
    webhooks.wake();
  });
  const stopNotifying = committed.listen((type) => {
    notifier.notify();
    webhooks.wake();
    metrics.liveObservers.onEventCommitted?.(type);
  });
  const sweeper = every(EXPIRY_SWEEP_INTERVAL_MS, () => services.expiries.recordDue(), onError);
  const pruning = every(
    PRUNE_INTERVAL_MS,
    async () => {
      // Each on its own: one failing does not leave the other running unwaited for.
      const results = await Promise.allSettled([
        services.idempotency.prune(),
        webhookQueue.prune(new Date(Date.now() - config.webhooks.deliveryRetentionDays * DAY_MS)),
      ]);
      for (const result of results) if (result.status === 'rejected') onError(result.reason);
    },
    onError,
  );
  return async () => {
    stopNotifying();
    await Promise.all([sweeper.stop(), pruning.stop()]);
    await webhooks.stop();
    await feed.stop();
  };
}

/** Runs `job` now and every `intervalMs`, never two at once; a failure is reported and the next run retries. */
function every(
  intervalMs: number,
  job: () => Promise<unknown>,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const run = () => {
    running ??= job()
      .catch(onError)
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(run, intervalMs).unref();
  run();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Background work retries by itself; an outage is one short warning per failure, anything else a full error. */
function logBackgroundError(logger: Logger): (error: unknown) => void {
  return (error) => {
    if (isDatabaseUnavailable(error)) {
      const { code, message } = error as { code?: string; message?: string };
      logger.warn({ err: { code, message } }, 'background work: database unavailable');
    } else {
      logger.error({ err: error }, 'background work failed');
    }
  };
}
