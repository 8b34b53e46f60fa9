import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { waitUntil } from './wait';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered with. */
  status: number;
}

/** A real HTTP receiver on loopback; `answer` decides each response's status (200 unless set). */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (request: { headers: IncomingHttpHeaders; body: string }) => number = () => 200;
  /** Sent as the `location` header of every response when set (with a 3xx from `answer`: a redirect). */
  location: string | null = null;
  /** How long to wait before answering a request (0 unless set): a slow receiver. */
  delayMs: (request: { body: string }) => number = () => 0;
  private server: Server | null = null;

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const status = this.answer({ headers: request.headers, body });
        this.received.push({ headers: request.headers, body, status });
        const reply = () =>
          response.writeHead(status, this.location ? { location: this.location } : {}).end();
        const delay = this.delayMs({ body });
        if (delay > 0) setTimeout(reply, delay);
        else reply();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** The requests answered with a 2xx. */
  get accepted(): ReceivedWebhook[] {
    return this.received.filter((request) => request.status >= 200 && request.status < 300);
  }

  waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    return waitUntil(condition, {
      timeoutMs,
      what: () => `the webhook receiver's condition; received ${JSON.stringify(this.received)}`,
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
