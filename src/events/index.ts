import type { Config } from '../config';
import type { Services } from '../services';
import { EventFeed } from './event-feed';
import { startExpirySweeper } from './expiry-sweeper';
import { LocalNotifier, RedisNotifier } from './notifier';
import type { EventNotifier } from './notifier';

export type { EventFeed } from './event-feed';
export type { EventNotifier } from './notifier';

const EXPIRY_SWEEP_INTERVAL_MS = 500;

export interface LiveDelivery {
  feed: EventFeed;
  notifier: EventNotifier;
  stop(): Promise<void>;
}

/**
 * Wires live delivery on one replica: commits notify (through Redis when configured), notices wake the
 * feed, and the expiry sweeper records what comes due.
 */
export async function startLiveDelivery(
  config: Pick<Config, 'redisUrl' | 'eventPollIntervalMs'>,
  services: Services,
  onError: (error: unknown) => void,
): Promise<LiveDelivery> {
  const notifier: EventNotifier = config.redisUrl
    ? new RedisNotifier(config.redisUrl, onError)
    : new LocalNotifier();
  const feed = new EventFeed(services.events, { pollIntervalMs: config.eventPollIntervalMs, onError });
  await feed.start();
  notifier.onNotice(() => feed.wake());
  const stopNotifying = services.events.onCommitted(() => notifier.notify());
  const sweeper = startExpirySweeper(services.expiries, { intervalMs: EXPIRY_SWEEP_INTERVAL_MS, onError });
  return {
    feed,
    notifier,
    async stop() {
      stopNotifying();
      await sweeper.stop();
      await feed.stop();
      await notifier.close();
    },
  };
}
