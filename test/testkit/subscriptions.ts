import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { waitUntil } from './wait';

export interface TestSubscription {
  /** Everything received so far: data payloads and errors. */
  received: { data?: any; errors?: any[] }[];
  /** Why the subscription failed (an error payload, or the socket closed under it); null while it has not. */
  readonly failure: string | null;
  /**
   * Resolves once `count` data payloads arrived. Rejects as soon as an error payload arrives or the
   * subscription ends first (e.g. the socket is closed with 4403), and after `timeoutMs`.
   */
  waitForData(count: number, timeoutMs?: number): Promise<{ data?: any; errors?: any[] }[]>;
  /** Resolves when the server ends the subscription (complete or error). */
  ended: Promise<void>;
  unsubscribe(): void;
}

export interface TestSocket {
  client: Client;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  subscribe(query: string, variables?: Record<string, unknown>): TestSubscription;
  close(): Promise<void>;
}

/** A real graphql-ws client, as a service or the router would open it. */
export function openSocket(
  url: string,
  options: { connectionParams?: Record<string, unknown>; headers?: Record<string, string> } = {},
): TestSocket {
  let onClosed: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    onClosed = resolve;
  });
  const client = createClient({
    url,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: options.headers });
      }
    },
    connectionParams: options.connectionParams,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed({ code, reason: String(reason) });
      },
    },
  });

  return {
    client,
    closed,
    subscribe(query, variables) {
      const received: { data?: any; errors?: any[] }[] = [];
      const waiters: (() => void)[] = [];
      let failure: string | null = null;
      let finished = false;
      let onEnded: () => void = () => {};
      const ended = new Promise<void>((resolve) => {
        onEnded = resolve;
      });
      const unsubscribe = client.subscribe(
        { query, variables },
        {
          next: (value) => {
            const payload = value as { data?: any; errors?: any[] };
            received.push(payload);
            if (payload.errors?.length) failure ??= `error payload: ${JSON.stringify(payload.errors)}`;
            waiters.forEach((wake) => wake());
          },
          error: (error) => {
            received.push({ errors: Array.isArray(error) ? error : [error] });
            failure ??= describeFailure(error);
            finished = true;
            waiters.forEach((wake) => wake());
            onEnded();
          },
          complete: () => {
            finished = true;
            waiters.forEach((wake) => wake());
            onEnded();
          },
        },
      );
      return {
        received,
        get failure() {
          return failure;
        },
        ended,
        unsubscribe,
        waitForData(count, timeoutMs = 5000) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`received ${received.length} of ${count}: ${JSON.stringify(received)}`)),
              timeoutMs,
            );
            const check = () => {
              if (failure !== null || (finished && received.length < count)) {
                clearTimeout(timer);
                reject(
                  new Error(`subscription failed before ${count} data payloads: ${failure ?? 'completed'}`),
                );
              } else if (received.length >= count) {
                clearTimeout(timer);
                resolve(received);
              }
            };
            waiters.push(check);
            check();
          });
        },
      };
    },
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * Waits until the server holds `count` subscriptions (`onServer` reads how many: the feed's listener count, or
 * the `graphql_active_subscriptions` gauge), so that the events committed next reach them. Fails at once when
 * one of `subscriptions` fails instead, e.g. because its socket was refused.
 */
export async function untilSubscribed(
  onServer: () => number | Promise<number>,
  count: number,
  subscriptions: TestSubscription[] = [],
): Promise<void> {
  let seen: number | undefined;
  await waitUntil(
    async () => {
      const failed = subscriptions.find((subscription) => subscription.failure !== null);
      if (failed) throw new Error(`a subscription failed while waiting for ${count}: ${failed.failure}`);
      seen = await onServer();
      return seen === count;
    },
    { what: () => `${count} subscriptions on the server (last seen: ${seen})` },
  );
}

/** The `graphql_active_subscriptions` gauge of the server whose GraphQL endpoint is `url`. */
export async function activeSubscriptions(url: string): Promise<number> {
  const metrics = await (await fetch(new URL('/metrics', url))).text();
  const line = /^graphql_active_subscriptions (\d+)$/m.exec(metrics);
  if (!line) throw new Error('no graphql_active_subscriptions gauge in /metrics');
  return Number(line[1]);
}

/** graphql-ws reports a socket closed under a subscription as the close event itself. */
function describeFailure(error: unknown): string {
  if (Array.isArray(error)) return `errors: ${JSON.stringify(error)}`;
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `socket closed with ${String(code)} ${String(reason ?? '')}`.trim();
  }
  return String(error);
}
