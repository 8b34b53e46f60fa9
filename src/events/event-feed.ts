import type { EventFilter } from '../domain/event-filter';
import { CoalescedRun } from './coalesced-run';
import type { DeliveredEvent, EventReader } from './event-reader';

export type FeedListener = (delivered: DeliveredEvent) => void;

const BATCH_SIZE = 500;
const NONE: ReadonlySet<FeedListener> = new Set();

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
  private readonly byOrganization = new Map<string, Set<FeedListener>>();
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
    for (const listeners of this.byOrganization.values()) count += listeners.size;
    return count;
  }

  /**
   * Listens to one user's events (with those of the organizations where it holds a seat), one
   * organization's, or everyone's (null). Returns the way to stop.
   */
  listen(filter: EventFilter, listener: FeedListener): () => void {
    if (filter === null) {
      this.everyone.add(listener);
      return () => this.everyone.delete(listener);
    }
    const [index, key] =
      'userId' in filter ? [this.byUser, filter.userId] : [this.byOrganization, filter.organizationId];
    const listeners = index.get(key) ?? new Set<FeedListener>();
    index.set(key, listeners);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && index.get(key) === listeners) index.delete(key);
    };
  }

  /** Stored events after `after` (oldest first), for a subscription that replays before it goes live. */
  replay(after: number, limit: number, filter: EventFilter): Promise<DeliveredEvent[]> {
    return this.reader.readAfter(after, limit, filter);
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
    const { userId, organizationId } = delivered.event;
    const listeners = [...this.everyone];
    for (const user of userId === null ? delivered.seatHolders : [userId]) {
      for (const listener of this.byUser.get(user) ?? NONE) listeners.push(listener);
    }
    if (organizationId !== null) {
      for (const listener of this.byOrganization.get(organizationId) ?? NONE) listeners.push(listener);
    }
    for (const listener of listeners) {
      try {
        listener(delivered);
      } catch (error) {
        this.options.onError(error);
      }
    }
  }
}
