import { nextAttemptAfterFailure, signWebhook, webhookPayload } from '../domain/webhooks';
import type { AttemptResult, DueDelivery, WebhookQueue } from '../services/webhook-queue';
import { CoalescedRun } from './coalesced-run';
import { sendWebhook } from './webhook-sender';
import type { SendResult } from './webhook-sender';

const BATCH_SIZE = 20;

export type WebhookAttemptOutcome = AttemptResult['outcome'];

export interface WebhookDispatcherOptions {
  allowPrivate: boolean;
  retryBaseMs: number;
  /** How often to look for due deliveries without being woken (retries come due this way). */
  pollIntervalMs: number;
  onError: (error: unknown) => void;
  onAttempt?: (outcome: WebhookAttemptOutcome) => void;
}

/** What an attempt's answer means for the delivery: only a 2xx counts, 410 gives the endpoint up. */
export function attemptResult(sent: SendResult, delivery: DueDelivery, retryBaseMs: number): AttemptResult {
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

  /** Stops claiming; attempts in flight finish (each is bounded by the send timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.drains.settled();
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const due = await this.queue.claimDue(BATCH_SIZE);
      if (due.length === 0) return;
      await Promise.all(due.map((delivery) => this.attempt(delivery)));
    }
  }

  private async attempt(delivery: DueDelivery): Promise<void> {
    const body = webhookPayload(delivery.event);
    const timestamp = Math.floor(Date.now() / 1000);
    const sent = await sendWebhook(
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
    this.options.onAttempt?.(result.outcome);
  }
}
