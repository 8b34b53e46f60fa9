import type { AttemptResult, DueDelivery, WebhookQueue } from '../db/webhook-queue';
import { nextAttemptAfterFailure, signWebhook, webhookPayload } from '../domain/webhooks';
import type { PostResult } from '../outbound/http';
import { postOnce } from '../outbound/http';
import { CoalescedRun } from './coalesced-run';

/** Attempts in flight on one replica, and to any one endpoint: a slow receiver cannot hold up the others. */
const MAX_IN_FLIGHT = 32;
const MAX_IN_FLIGHT_PER_ENDPOINT = 4;
/** Deliveries claimed per statement; an endpoint may get all of them, so it must have room for as many. */
const CLAIM_BATCH = 2;

export type WebhookAttemptOutcome = AttemptResult['outcome'];

export interface WebhookDispatcherOptions {
  allowPrivate: boolean;
  retryBaseMs: number;
  /** How often to look for due deliveries without being woken (retries come due this way). */
  pollIntervalMs: number;
  onError: (error: unknown) => void;
  onAttempt?: (result: AttemptResult, delivery: DueDelivery) => void;
}

/** What an attempt's answer means for the delivery: only a 2xx counts, 410 gives the endpoint up. */
export function attemptResult(sent: PostResult, delivery: DueDelivery, retryBaseMs: number): AttemptResult {
  if ('statusCode' in sent && sent.statusCode >= 200 && sent.statusCode < 300) {
    return { outcome: 'delivered', statusCode: sent.statusCode };
  }
  if ('statusCode' in sent && sent.statusCode === 410) return { outcome: 'gone' };
  const statusCode = 'statusCode' in sent ? sent.statusCode : null;
  const error = 'error' in sent ? sent.error : null;
  const nextAttemptAt = nextAttemptAfterFailure(delivery, new Date(), retryBaseMs);
  return nextAttemptAt
    ? { outcome: 'retry', nextAttemptAt, statusCode, error }
    : { outcome: 'failed', statusCode, error };
}

/**
 * Drains the webhook queue on one replica: woken when events commit (here or, through the notifier,
 * elsewhere) and every `pollIntervalMs` for retries. Each attempt is signed afresh, because receivers
 * reject old timestamps.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private readonly drains: CoalescedRun;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly inFlightByEndpoint = new Map<string, number>();

  constructor(
    private readonly queue: WebhookQueue,
    private readonly options: WebhookDispatcherOptions,
  ) {
    this.drains = new CoalescedRun(() => this.drain(), options.onError);
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (!this.stopped) this.drains.request();
  }

  /** Stops claiming; attempts in flight finish (each is bounded by the send deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.drains.settled();
    await Promise.all(this.inFlight);
  }

  /**
   * Claims while there is room, a couple at a time, from endpoints that can take that many more without
   * passing their limit. Each attempt runs on its own and wakes the dispatcher when done.
   */
  private async drain(): Promise<void> {
    while (!this.stopped && this.inFlight.size < MAX_IN_FLIGHT) {
      const room = Math.min(MAX_IN_FLIGHT - this.inFlight.size, CLAIM_BATCH);
      const full = [...this.inFlightByEndpoint]
        .filter(([, count]) => count + room > MAX_IN_FLIGHT_PER_ENDPOINT)
        .map(([endpointId]) => endpointId);
      const due = await this.queue.claimDue(room, full);
      if (due.length === 0) return;
      due.forEach((delivery) => this.launch(delivery));
    }
  }

  private launch(delivery: DueDelivery): void {
    const { endpointId } = delivery;
    this.inFlightByEndpoint.set(endpointId, (this.inFlightByEndpoint.get(endpointId) ?? 0) + 1);
    const attempt: Promise<void> = this.attempt(delivery)
      .catch(this.options.onError)
      .finally(() => {
        this.inFlight.delete(attempt);
        const left = (this.inFlightByEndpoint.get(endpointId) ?? 1) - 1;
        if (left === 0) this.inFlightByEndpoint.delete(endpointId);
        else this.inFlightByEndpoint.set(endpointId, left);
        this.wake();
      });
    this.inFlight.add(attempt);
  }

  private async attempt(delivery: DueDelivery): Promise<void> {
    const body = webhookPayload(delivery.event);
    const timestamp = Math.floor(Date.now() / 1000);
    const sent = await postOnce(
      delivery.url,
      {
        'content-type': 'application/json',
        'user-agent': 'entitlements-subgraph-webhooks/1',
        'webhook-id': delivery.event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(delivery.secret, delivery.event.id, timestamp, body),
      },
      body,
      { allowPrivate: this.options.allowPrivate },
    );
    const result = attemptResult(sent, delivery, this.options.retryBaseMs);
    await this.queue.recordAttempt(delivery.id, result);
    this.options.onAttempt?.(result, delivery);
  }
}
