import { Redis } from 'ioredis';

/**
 * Tells every replica's event feed that events were committed somewhere. Only a wake-up: the events
 * themselves are read from the database, so a lost notice costs latency, never an event.
 */
export interface EventNotifier {
  /** After a local commit: wakes this replica at once and, with Redis, every other one. */
  notify(): void;
  onNotice(listener: () => void): void;
  /** Whether the fan-out works (callers bound the wait); always true in process. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Without REDIS_URL: one process, nothing to fan out to. */
export class LocalNotifier implements EventNotifier {
  private readonly listeners: (() => void)[] = [];

  notify(): void {
    this.listeners.forEach((listener) => listener());
  }

  onNotice(listener: () => void): void {
    this.listeners.push(listener);
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}

const CHANNEL = 'entitlements:events';

/**
 * With REDIS_URL: a notice on one channel wakes every replica. Both connections reconnect by themselves;
 * while Redis is down, publishing fails quietly (the feeds' timers still deliver) and readiness says so.
 */
export class RedisNotifier implements EventNotifier {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly local = new LocalNotifier();

  constructor(url: string, onError: (error: unknown) => void) {
    const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 500 };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    // ioredis reports every failed reconnect; one report per outage is enough.
    let reported = false;
    const reportOnce = (error: unknown) => {
      if (!reported) onError(error);
      reported = true;
    };
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', reportOnce);
      connection.on('ready', () => {
        reported = false;
      });
    }
    this.subscriber.on('message', () => this.local.notify());
    // After an outage, read at once whatever the lost notices were about.
    this.subscriber.on('ready', () => this.local.notify());
    void this.subscriber.subscribe(CHANNEL).catch(onError);
  }

  notify(): void {
    this.local.notify();
    this.publisher.publish(CHANNEL, '1').catch(() => undefined);
  }

  onNotice(listener: () => void): void {
    this.local.onNotice(listener);
  }

  async ready(): Promise<boolean> {
    if (this.publisher.status !== 'ready' || this.subscriber.status !== 'ready') return false;
    await this.publisher.ping();
    return true;
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
