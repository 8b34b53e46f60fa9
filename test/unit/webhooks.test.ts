import { Webhook } from 'standardwebhooks';

import type { LicenseEvent } from '../../src/domain/types';
import {
  checkWebhookUrl,
  MAX_RETRY_DELAY_MS,
  newWebhookSecret,
  nextAttemptAfterFailure,
  retryDelayMs,
  signWebhook,
  WEBHOOK_RETRY_WINDOW_MS,
  webhookPayload,
} from '../../src/domain/webhooks';

const event: LicenseEvent = {
  id: '42',
  type: 'TIER_CHANGED',
  userId: 'u1',
  organizationId: null,
  threshold: null,
  accessChange: null,
  featureKey: null,
  grantId: null,
  fromTierKey: 'free',
  toTierKey: 'pro',
  actor: 'admin',
  reason: 'upgrade',
  occurredAt: new Date('2026-11-29T10:00:00.000Z'),
};

describe('the delivery body', () => {
  it('has the contract shape', () => {
    expect(JSON.parse(webhookPayload(event))).toEqual({
      id: '42',
      type: 'TIER_CHANGED',
      occurredAt: '2026-11-29T10:00:00.000Z',
      data: {
        userId: 'u1',
        organizationId: null,
        feature: null,
        grantId: null,
        fromTier: 'free',
        toTier: 'pro',
        actor: 'admin',
        reason: 'upgrade',
        threshold: null,
      },
    });
  });
});

describe('signatures', () => {
  it('verify with the Standard Webhooks reference library', () => {
    const secret = newWebhookSecret();
    const body = webhookPayload(event);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, event.id, timestamp, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('pro', 'max'), headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('uses fresh 32-byte secrets', () => {
    const secret = newWebhookSecret();
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });
});

describe('retries', () => {
  it('double the delay per attempt, within equal jitter, up to a cap', () => {
    expect(retryDelayMs(1, 5000, () => 0)).toBe(2500);
    expect(retryDelayMs(1, 5000, () => 1)).toBe(5000);
    expect(retryDelayMs(2, 5000, () => 1)).toBe(10_000);
    expect(retryDelayMs(5, 5000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(40, 5000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    const jittered = Array.from({ length: 100 }, () => retryDelayMs(3, 1000));
    expect(Math.min(...jittered)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...jittered)).toBeLessThanOrEqual(4000);
    expect(new Set(jittered).size).toBeGreaterThan(1);
  });

  it('give up once the next attempt would fall outside the three-day window', () => {
    const createdAt = new Date('2026-11-01T00:00:00Z');
    const early = new Date(createdAt.getTime() + 60_000);
    expect(nextAttemptAfterFailure({ attempts: 3, createdAt }, early, 5000, () => 1)).toEqual(
      new Date(early.getTime() + 20_000),
    );
    const late = new Date(createdAt.getTime() + WEBHOOK_RETRY_WINDOW_MS - 1000);
    expect(nextAttemptAfterFailure({ attempts: 20, createdAt }, late, 5000)).toBeNull();
  });

  it('try about twenty times over three days with the default base', () => {
    const createdAt = new Date(0);
    let now = createdAt;
    let attempts = 1;
    for (;;) {
      const next = nextAttemptAfterFailure({ attempts, createdAt }, now, 5000, () => 0.5);
      if (!next) break;
      now = next;
      attempts += 1;
    }
    expect(attempts).toBeGreaterThan(15);
    expect(attempts).toBeLessThan(30);
    expect(now.getTime()).toBeGreaterThan(WEBHOOK_RETRY_WINDOW_MS - MAX_RETRY_DELAY_MS);
  });
});

describe('webhook URLs', () => {
  it.each(['https://billing.example.com/hooks', 'http://10.0.0.5:8080/x?y=1'])('accept %s', (url) => {
    expect(checkWebhookUrl(url).href).toBe(url);
  });

  it.each(['', 'example.com/hooks', 'ftp://example.com', 'javascript:alert(1)', 'https://a:b@example.com'])(
    'refuse %j with BAD_USER_INPUT on url',
    (url) => {
      expect(() => checkWebhookUrl(url)).toThrow(
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'url' } }),
      );
    },
  );

  it('judges the length as stored: 1,000 characters given, 9,000 once percent-encoded, is too long', () => {
    expect(() => checkWebhookUrl(`https://example.com/${'€'.repeat(1000)}`)).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'url' } }),
    );
  });
});
