import { createHmac, randomBytes } from 'node:crypto';

import { BadUserInputError } from '../errors';
import type { LicenseEvent } from './types';

/** Failed deliveries are retried for about three days (Standard Webhooks' own schedule spans ~1.5 days). */
export const WEBHOOK_RETRY_WINDOW_MS = 3 * 24 * 60 * 60 * 1000;
/** The backoff stops doubling here, so a long receiver outage is still tried a few times a day. */
export const MAX_RETRY_DELAY_MS = 6 * 60 * 60 * 1000;
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The JSON body of a delivery, as the contract spells it. */
export function webhookPayload(event: LicenseEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt.toISOString(),
    data: {
      userId: event.userId,
      organizationId: event.organizationId,
      feature: event.featureKey,
      grantId: event.grantId,
      fromTier: event.fromTierKey,
      toTier: event.toTierKey,
      actor: event.actor,
      reason: event.reason,
      threshold: event.threshold,
    },
  });
}

/** `whsec_` + base64 of 32 random bytes, the Standard Webhooks secret format. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The Standard Webhooks `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. */
export function signWebhook(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The delay before attempt `attempts + 1`: the base doubled per failed attempt, capped, with "equal
 * jitter" (half fixed, half random) so that receivers coming back are not hit by every sender at once.
 */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** When to try again after a failed attempt, or null once the retry window has passed. */
export function nextAttemptAfterFailure(
  delivery: { attempts: number; createdAt: Date },
  now: Date,
  baseMs: number,
  random: () => number = Math.random,
): Date | null {
  const next = new Date(now.getTime() + retryDelayMs(delivery.attempts, baseMs, random));
  return next.getTime() - delivery.createdAt.getTime() > WEBHOOK_RETRY_WINDOW_MS ? null : next;
}

/** A webhook URL must be absolute http(s), without credentials (they would show in every listing). */
export function checkWebhookUrl(url: string, field = 'url'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadUserInputError(field, `${field} must be an absolute http:// or https:// URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new BadUserInputError(field, `${field} must use http or https`);
  }
  // As stored: normalized, with characters outside ASCII percent-encoded (up to nine times as long).
  if (parsed.href.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new BadUserInputError(field, `${field} must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  if (parsed.username || parsed.password) {
    throw new BadUserInputError(field, `${field} must not contain credentials; the signature authenticates`);
  }
  return parsed;
}
