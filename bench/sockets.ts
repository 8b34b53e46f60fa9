import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { mapLimit } from './stats';

export interface Subscriber {
  client: Client;
  /** Starts one subscription on the socket; `onData` sees each payload's data. */
  subscribe(query: string, variables: Record<string, unknown>, onData: (data: unknown) => void): () => void;
  errors: unknown[];
  close(): Promise<void>;
}

/** Opens one graphql-ws socket and waits for connection_ack. */
export async function openSubscriber(url: string, token: string): Promise<Subscriber> {
  const errors: unknown[] = [];
  let acked: () => void = () => {};
  let failed: (error: unknown) => void = () => {};
  const connected = new Promise<void>((resolve, reject) => {
    acked = resolve;
    failed = reject;
  });
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: (error) => failed(error),
    on: {
      connected: () => acked(),
      closed: (event) => failed(new Error(`socket closed before ack: ${(event as { code?: number }).code}`)),
    },
  });
  await connected;
  return {
    client,
    errors,
    subscribe(query, variables, onData) {
      return client.subscribe(
        { query, variables },
        {
          next: (value) => {
            if (value.errors) errors.push(value.errors);
            else onData(value.data);
          },
          error: (error) => errors.push(error),
          complete: () => undefined,
        },
      );
    },
    async close() {
      await client.dispose();
    },
  };
}

/** Opens `count` sockets across `urls` (round robin), `concurrency` handshakes at a time. */
export function openSubscribers(
  urls: string[],
  token: string,
  count: number,
  concurrency = 100,
): Promise<Subscriber[]> {
  return mapLimit(
    Array.from({ length: count }, (_, i) => urls[i % urls.length]),
    concurrency,
    (url) => openSubscriber(url, token),
  );
}

export async function closeAll(subscribers: Subscriber[]): Promise<void> {
  await mapLimit(subscribers, 500, (subscriber) => subscriber.close().catch(() => undefined));
}
