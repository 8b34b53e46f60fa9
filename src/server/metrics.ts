import type { ApolloServerPlugin } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { Database } from '../db/database';
import type { LicenseEventType } from '../domain/types';
import { ERROR_CODES } from '../errors';
import type { EventFeed, LiveDeliveryObservers } from '../events';
import type { WebhookAttemptOutcome } from '../events/webhook-dispatcher';
import type { RequestContext } from '../graphql/context';
import type { Handler } from './http-routes';
import { send } from './http-routes';
import { matchesSecret } from './router-secret';

/**
 * Client-chosen operation names are labels only for callers with a valid token, and only up to this many;
 * later new ones count as `other`, and every operation without a valid token as `unauthenticated`.
 */
const MAX_OPERATION_NAMES = 200;
const KNOWN_ERROR_CODES = new Set<string>(ERROR_CODES);

/**
 * The Prometheus metrics of one replica, on a registry of its own (several servers may share a test
 * process). Every label has a bounded set of values: no user ids, no free text.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  private readonly requestDuration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'GraphQL requests over HTTP, from receipt to response',
    labelNames: ['operation_type', 'operation_name'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'graphql_errors_total',
    help: 'Errors in GraphQL responses, by extensions.code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly licenseEvents = new Counter({
    name: 'license_events_total',
    help: 'License events this replica recorded (committed), by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered, retry (will be tried again), failed (gave up), gone (410: endpoint disabled)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  constructor(db: Database) {
    collectDefaultMetrics({ register: this.registry });
    if (db.isMysql) {
      new Gauge({
        name: 'db_pool_connections_in_use',
        help: 'MySQL pool connections lent out to a query or transaction',
        registers: [this.registry],
        collect() {
          this.set(db.poolConnections()?.inUse ?? 0);
        },
      });
      new Gauge({
        name: 'db_pool_connections_open',
        help: 'MySQL pool connections open, idle or in use',
        registers: [this.registry],
        collect() {
          this.set(db.poolConnections()?.open ?? 0);
        },
      });
    }
  }

  /** Subscriptions on this replica, over WebSockets or the router's callback protocol (one feed listener each). */
  watchSubscriptions(feed: EventFeed): void {
    new Gauge({
      name: 'graphql_active_subscriptions',
      help: 'Subscriptions open on this replica',
      registers: [this.registry],
      collect() {
        this.set(feed.listenerCount);
      },
    });
  }

  readonly liveObservers: LiveDeliveryObservers = {
    onEventCommitted: (type: LicenseEventType) => this.licenseEvents.inc({ type }),
    onWebhookAttempt: (status: WebhookAttemptOutcome) => this.webhookDeliveries.inc({ status }),
  };

  /** Times each HTTP GraphQL request and counts the error codes of its response. */
  apolloPlugin(): ApolloServerPlugin<RequestContext> {
    return {
      requestDidStart: async () => {
        const stopTimer = this.requestDuration.startTimer();
        return {
          willSendResponse: async ({ contextValue, operation, operationName, response }) => {
            const authenticated = contextValue?.caller.subject != null;
            stopTimer({
              operation_type: operation?.operation ?? 'unknown',
              operation_name: authenticated ? this.operationLabel(operationName) : 'unauthenticated',
            });
            if (response.body.kind !== 'single') return;
            for (const error of response.body.singleResult.errors ?? []) {
              const code = String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
              this.errors.inc({ code: KNOWN_ERROR_CODES.has(code) ? code : 'OTHER' });
            }
          },
        };
      },
    };
  }

  /** `GET /metrics`; with `token` set, only for `Authorization: Bearer <token>`. */
  routes(token: string | undefined): Record<string, Handler> {
    return {
      '/metrics': async (req, res) => {
        if (token !== undefined && !matchesSecret(token, bearerOf(req.headers.authorization))) {
          send(res, 401, 'text/plain; charset=utf-8', 'A metrics token is required\n', {
            'www-authenticate': 'Bearer',
          });
          return;
        }
        send(res, 200, this.registry.contentType, await this.registry.metrics());
      },
    };
  }

  private operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }
}

function bearerOf(header: string | undefined): string | undefined {
  // The scheme is case-insensitive (RFC 9110).
  return /^bearer +(.+)$/i.exec(header ?? '')?.[1];
}
