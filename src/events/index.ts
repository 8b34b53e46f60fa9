import type { LicenseEventType } from '../domain/types';
import type { EventFeed } from './event-feed';
import type { EventNotifier } from './notifier';
import type { WebhookAttemptOutcome } from './webhook-dispatcher';

export type { EventFeed } from './event-feed';
export type { EventNotifier } from './notifier';

/** What the transport needs of live delivery: the feed subscriptions listen to, and the notifier's health. */
export interface LiveDelivery {
  feed: EventFeed;
  notifier: EventNotifier;
}

export interface LiveDeliveryObservers {
  onEventCommitted?: (type: LicenseEventType) => void;
  onWebhookAttempt?: (outcome: WebhookAttemptOutcome) => void;
}
