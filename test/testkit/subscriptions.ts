import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface TestSubscription {
  /** Everything received so far: data payloads and errors. */
  received: { data?: any; errors?: any[] }[];
  /** Resolves once `count` payloads arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<{ data?: any; errors?: any[] }[]>;
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
      let onEnded: () => void = () => {};
      const ended = new Promise<void>((resolve) => {
        onEnded = resolve;
      });
      const unsubscribe = client.subscribe(
        { query, variables },
        {
          next: (value) => {
            received.push(value as { data?: any; errors?: any[] });
            waiters.forEach((wake) => wake());
          },
          error: (error) => {
            received.push({ errors: Array.isArray(error) ? error : [error] });
            waiters.forEach((wake) => wake());
            onEnded();
          },
          complete: () => onEnded(),
        },
      );
      return {
        received,
        ended,
        unsubscribe,
        waitFor(count, timeoutMs = 5000) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`received ${received.length} of ${count}: ${JSON.stringify(received)}`)),
              timeoutMs,
            );
            const check = () => {
              if (received.length >= count) {
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
