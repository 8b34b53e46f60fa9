import type { ServerResponse } from 'node:http';

import type { ApolloServerPlugin } from '@apollo/server';

/**
 * Operations still executing. A caller that hung up leaves its operation running; shutdown waits for it,
 * so nothing executes against a closed pool. While stopping, every response asks the client to close its
 * connection, so keep-alive clients move to another replica instead of reusing a socket about to close.
 */
export class InFlightOperations {
  private count = 0;
  private idle: (() => void)[] = [];
  private stopping = false;
  private readonly unanswered = new Set<ServerResponse>();

  get isStopping(): boolean {
    return this.stopping;
  }

  plugin(): ApolloServerPlugin {
    return {
      requestDidStart: async () => {
        this.count += 1;
        return {
          willSendResponse: async () => {
            this.count -= 1;
            if (this.count === 0) this.idle.splice(0).forEach((resolve) => resolve());
          },
        };
      },
    };
  }

  /** Called for every HTTP request as it arrives. */
  track(res: ServerResponse): void {
    if (this.stopping) {
      res.shouldKeepAlive = false;
    } else {
      this.unanswered.add(res);
      res.once('close', () => this.unanswered.delete(res));
    }
  }

  beginStopping(): void {
    this.stopping = true;
    // Responses still being worked on also ask their clients to close, not only requests that come later.
    for (const res of this.unanswered) if (!res.headersSent) res.shouldKeepAlive = false;
    this.unanswered.clear();
  }

  /** Resolves when no operation runs, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.count === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
