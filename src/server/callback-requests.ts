import { LRUCache } from 'lru-cache';

import type { OutboundPolicy } from '../outbound/http';
import { OUTBOUND_TIMEOUT_MS, outboundFetcher } from '../outbound/http';
import { IdentitySlots } from './identity-slots';

type Fetcher = ReturnType<typeof outboundFetcher>;

/** Consecutive failed heartbeats after which Apollo's plugin ends a subscription (its own default). */
export const MAX_HEARTBEAT_FAILURES = 5;

/**
 * How Apollo's plugin retries a failed request (its own defaults, set here so that they are known): once a
 * `next` has failed this many times plus one in a row, the plugin ends the subscription without a word.
 */
export const CALLBACK_RETRY = { retries: 5, minTimeout: 100, maxTimeout: 1000 };

interface Subscription {
  id: string;
  subject: string;
  heartbeatIntervalMs: number;
  checked: boolean;
  /** Consecutive failed heartbeats. */
  failures: number;
  /** Consecutive failed attempts to send an event (`next`). */
  nextFailures: number;
}

/** Whether a subscription may start: `urlInUse` and `tooMany` refuse it, and nothing is recorded then. */
export type Acceptance = 'accepted' | 'urlInUse' | 'tooMany';

/**
 * What this server sends to routers' callback URLs, per subscription (callback URL and id). Apollo's plugin
 * queues a heartbeat on every tick and sends it once the one before has been answered, even after it ended
 * the subscription; so here:
 * - a callback URL serves one open subscription: Apollo's plugin keeps one per URL, so a second one would
 *   orphan the first, uncounted and beyond the router's reach (a router gives each subscription its own URL);
 * - a heartbeat waits at most one heartbeat interval for its answer (a receiver slower than that fails it,
 *   and five failures end the subscription), so the queue cannot grow;
 * - once a subscription has ended (an answer that ends it, `complete` sent, five failed heartbeats, an event
 *   that failed every retry), nothing more is sent for it;
 * - one identity has at most `maxPerIdentity` of them open.
 */
export class CallbackRequests {
  /** Open subscriptions by callback URL. */
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
   * Before Apollo's plugin sends anything for a subscription of `subject`, with its interval as clamped:
   * refused while its callback URL serves another open subscription, or while that identity has its most
   * callback subscriptions open.
   */
  accept(callbackUrl: string, id: string, heartbeatIntervalMs: number, subject: string): Acceptance {
    if (this.open.has(callbackUrl)) return 'urlInUse';
    if (!this.perIdentity.take(subject)) return 'tooMany';
    this.ended.delete(keyOf(callbackUrl, id));
    this.open.set(callbackUrl, {
      id,
      subject,
      heartbeatIntervalMs,
      checked: false,
      failures: 0,
      nextFailures: 0,
    });
    return 'accepted';
  }

  /** A subscription that was accepted but did not start (refused later, or its check failed). */
  release(callbackUrl: string, id: string): void {
    this.end(callbackUrl, id);
  }

  readonly fetcher: Fetcher = async (url, init) => {
    const { action, id: given } = parseBody(init?.body);
    const id = String(given);
    const subscription = this.open.get(url);
    if (subscription?.id !== id || this.ended.has(keyOf(url, id))) {
      throw new Error('the subscription has ended');
    }
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
      // As Apollo's plugin ends it: a heartbeat answered 400 or 404, another request answered anything else below
      // 500 (a redirect too: none is followed); other failures count.
      const ends = heartbeat
        ? response.status === 400 || response.status === 404
        : !response.ok && response.status < 500;
      if (ends) this.end(url, id);
      else if (response.ok) {
        // Each count is reset by a success of its own kind, as the plugin resets its own.
        if (action === 'check') Object.assign(subscription, { checked: true, failures: 0 });
        if (action === 'next') subscription.nextFailures = 0;
      } else this.failed(url, subscription, action, heartbeat);
      return response;
    } catch (error) {
      this.failed(url, subscription, action, heartbeat);
      throw error;
    } finally {
      if (action === 'complete') this.end(url, id);
    }
  };

  /** Ends the subscription where Apollo's plugin gives up on it: it would not say so (its slot would leak). */
  private failed(url: string, subscription: Subscription, action: unknown, heartbeat: boolean): void {
    if (heartbeat) subscription.failures += 1;
    if (action === 'next') subscription.nextFailures += 1;
    if (
      subscription.failures >= MAX_HEARTBEAT_FAILURES ||
      subscription.nextFailures > CALLBACK_RETRY.retries
    ) {
      this.end(url, subscription.id);
    }
  }

  private end(url: string, id: string): void {
    const subscription = this.open.get(url);
    if (subscription?.id === id) {
      this.open.delete(url);
      this.perIdentity.release(subscription.subject);
    }
    this.ended.set(keyOf(url, id), true);
  }
}

function keyOf(url: string, id: string): string {
  return `${url}\n${id}`;
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
