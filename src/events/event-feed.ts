import { CoalescedRun } from './coalesced-run';
import type { DeliveredEvent, EventReader } from './event-reader';

export type FeedListener = (delivered: DeliveredEvent) => void;

const BATCH_SIZE = 500;

/**
 * Live delivery on one replica. The stored events are the outbox: the feed follows them by id (ids become
 * visible in commit order, see LicenseEventLog.record) and hands each one, once, to the local listeners.
 * It reads when woken (a local commit, a notice from another replica) and on a timer, so a lost notice or a
 * Redis outage delays events but never loses them. One read serves every subscription on the replica.
 */
export class EventFeed {
  private cursor = 0;
  private readonly everyone = new Set<FeedListener>();
  private readonly byUser = new Map<string, Set<FeedListener>>();
  private readonly reads: CoalescedRun;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reader: EventReader,
    private readonly options: { pollIntervalMs: number; onError: (error: unknown) => void },
  ) {
    this.reads = new CoalescedRun(() => this.drain(), options.onError);
  }

  /** Starts after the newest stored event: what came before is for `after` replays. */
  async start(): Promise<void> {
    this.cursor = await this.reader.latestId();
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reads.settled();
  }

  /** The id of the last event handed out; later ones will reach a listener added now. */
  get position(): number {
    return this.cursor;
  }

  get listenerCount(): number {
    let count = this.everyone.size;
    for (const listeners of this.byUser.values()) count += listeners.size;
    return count;
  }

  /** Listens to one user's events, or to everyone's (`userId` null). Returns the way to stop. */
  listen(userId: string | null, listener: FeedListener): () => void {
    let listeners = this.everyone;
    if (userId !== null) {
      listeners = this.byUser.get(userId) ?? new Set();
      this.byUser.set(userId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (userId !== null && listeners.size === 0) this.byUser.delete(userId);
    };
  }

  /** Stored events after `after` (oldest first), for a subscription that replays before it goes live. */
  replay(after: number, limit: number, userId: string | null): Promise<DeliveredEvent[]> {
    return this.reader.readAfter(after, limit, userId);
  }

  /** Reads what committed since the last read; wakes during a read are folded into one more read. */
  wake(): void {
    this.reads.request();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch = await this.reader.readAfter(this.cursor, BATCH_SIZE);
      for (const delivered of batch) {
        this.cursor = Number(delivered.event.id);
        this.dispatch(delivered);
      }
      if (batch.length < BATCH_SIZE) return;
    }
  }

  private dispatch(delivered: DeliveredEvent): void {
    const listeners = [...this.everyone, ...(this.byUser.get(delivered.event.userId) ?? [])];
    for (const listener of listeners) {
      try {
        listener(delivered);
      } catch (error) {
        this.options.onError(error);
      }
    }
  }
}
