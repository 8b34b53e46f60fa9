import type { Config } from '../config';
import { isDatabaseUnavailable } from '../db/connection-errors';
import type { LicenseEventType } from '../domain/types';
import type { Logger } from '../server/logger';
import type { Services } from '../services';
import { EventFeed } from './event-feed';
import { startExpirySweeper } from './expiry-sweeper';
import { LocalNotifier, RedisNotifier } from './notifier';
import type { EventNotifier } from './notifier';
import { WebhookDispatcher } from './webhook-dispatcher';
import type { WebhookAttemptOutcome } from './webhook-dispatcher';

export type { EventFeed } from './event-feed';
export type { EventNotifier } from './notifier';

const EXPIRY_SWEEP_INTERVAL_MS = 500;
const WEBHOOK_POLL_INTERVAL_MS = 1000;

export interface LiveDelivery {
  feed: EventFeed;
  notifier: EventNotifier;
  stop(): Promise<void>;
}

export interface LiveDeliveryObservers {
  onEventCommitted?: (type: LicenseEventType) => void;
  onWebhookAttempt?: (outcome: WebhookAttemptOutcome) => void;
}

/**
 * Wires live delivery on one replica: commits notify (through Redis when configured), notices wake the
 * feed and the webhook dispatcher, and the expiry sweeper records what comes due.
 */
export async function startLiveDelivery(
  config: Pick<Config, 'redisUrl' | 'eventPollIntervalMs' | 'webhooks'>,
  services: Services,
  logger: Logger,
  observers: LiveDeliveryObservers = {},
): Promise<LiveDelivery> {
  const onError = logBackgroundError(logger);
  const notifier: EventNotifier = config.redisUrl
    ? new RedisNotifier(config.redisUrl, onError)
    : new LocalNotifier();
  const feed = new EventFeed(services.events, { pollIntervalMs: config.eventPollIntervalMs, onError });
  await feed.start();
  const webhooks = new WebhookDispatcher(services.webhookQueue, {
    ...config.webhooks,
    // Short retry delays (tests, impatient receivers) are honoured without waiting for the next look.
    pollIntervalMs: Math.max(50, Math.min(WEBHOOK_POLL_INTERVAL_MS, config.webhooks.retryBaseMs)),
    onError,
    onAttempt: (result, delivery) => {
      observers.onWebhookAttempt?.(result.outcome);
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
  const stopNotifying = services.events.onCommitted((type) => {
    notifier.notify();
    webhooks.wake();
    observers.onEventCommitted?.(type);
  });
  const sweeper = startExpirySweeper(services.expiries, { intervalMs: EXPIRY_SWEEP_INTERVAL_MS, onError });
  return {
    feed,
    notifier,
    async stop() {
      stopNotifying();
      await sweeper.stop();
      await webhooks.stop();
      await feed.stop();
      await notifier.close();
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
