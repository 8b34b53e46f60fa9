import { LRUCache } from 'lru-cache';

import type { OutboundPolicy } from '../outbound/http';
import { OUTBOUND_TIMEOUT_MS, outboundFetcher } from '../outbound/http';
import { IdentitySlots } from './identity-slots';

type Fetcher = ReturnType<typeof outboundFetcher>;

/** Consecutive failed heartbeats after which Apollo's plugin ends a subscription (its own default). */
export const MAX_HEARTBEAT_FAILURES = 5;

interface Subscription {
  subject: string;
  heartbeatIntervalMs: number;
  checked: boolean;
  failures: number;
}

/**
 * What this server sends to routers' callback URLs, per subscription (callback URL and id). Apollo's plugin
 * queues a heartbeat on every tick and sends it once the one before has been answered, even after it ended
 * the subscription; so here:
 * - a heartbeat waits at most one heartbeat interval for its answer (a receiver slower than that fails it,
 *   and five failures end the subscription), so the queue cannot grow;
 * - once a subscription has ended (an answer that ends it, `complete` sent, five failed heartbeats), nothing
 *   more is sent for it;
 * - one identity has at most `maxPerIdentity` of them open.
 */
export class CallbackRequests {
  private readonly open = new Map<string, Subscription>();
  /** Ended subscriptions, remembered long enough to refuse what Apollo still had queued for them. */
  private readonly ended = new LRUCache<string, true>({ max: 10_000 });

  private readonly perIdentity: IdentitySlots;

  constructor(
    private readonly policy: OutboundPolicy,
    maxPerIdentity: number,
  ) {
    this.perIdentity = new IdentitySlots(maxPerIdentity);
  }

  /**
   * Before Apollo's plugin sends anything for a subscription of `subject`: its interval, as clamped. False
   * when that identity already has its most callback subscriptions open (nothing is recorded then).
   */
  accept(callbackUrl: string, id: string, heartbeatIntervalMs: number, subject: string): boolean {
    const key = keyOf(callbackUrl, id);
    if (this.open.has(key)) this.end(key);
    if (!this.perIdentity.take(subject)) return false;
    this.ended.delete(key);
    this.open.set(key, { subject, heartbeatIntervalMs, checked: false, failures: 0 });
    return true;
  }

  /** A subscription that was accepted but did not start (refused later, or its check failed). */
  release(callbackUrl: string, id: string): void {
    this.end(keyOf(callbackUrl, id));
  }

  readonly fetcher: Fetcher = async (url, init) => {
    const { action, id } = parseBody(init?.body);
    const key = keyOf(url, id);
    const subscription = this.open.get(key);
    if (!subscription || this.ended.has(key)) throw new Error('the subscription has ended');
    const heartbeat = action === 'check' && subscription.checked;
    const send = outboundFetcher(
      heartbeat
        ? {
            ...this.policy,
            timeoutMs: Math.min(
              subscription.heartbeatIntervalMs,
              this.policy.timeoutMs ?? OUTBOUND_TIMEOUT_MS,
            ),
          }
        : this.policy,
    );
    try {
      const response = await send(url, init);
      if (response.status >= 400 && response.status < 500) this.end(key);
      else if (response.ok) {
        subscription.failures = 0;
        if (action === 'check') subscription.checked = true;
      } else if (heartbeat) this.failed(key, subscription);
      return response;
    } catch (error) {
      if (heartbeat) this.failed(key, subscription);
      throw error;
    } finally {
      if (action === 'complete') this.end(key);
    }
  };

  private failed(key: string, subscription: Subscription): void {
    subscription.failures += 1;
    if (subscription.failures >= MAX_HEARTBEAT_FAILURES) this.end(key);
  }

  private end(key: string): void {
    const subscription = this.open.get(key);
    if (subscription) {
      this.open.delete(key);
      this.perIdentity.release(subscription.subject);
    }
    this.ended.set(key, true);
  }
}

function keyOf(url: string, id: unknown): string {
  return `${url}\n${String(id)}`;
}

function parseBody(body: string | Buffer | undefined): { action?: unknown; id?: unknown } {
  try {
    return JSON.parse(typeof body === 'string' ? body : (body?.toString('utf8') ?? '')) as {
      action?: unknown;
      id?: unknown;
    };
  } catch {
    return {};
  }
}
