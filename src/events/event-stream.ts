import type { EventFilter } from '../domain/event-filter';
import { atTime } from './at-time';
import type { EventFeed } from './event-feed';
import type { DeliveredEvent } from './event-reader';

export interface StreamOptions {
  /** Whose events: one user's (with its organizations'), one organization's, or everyone's (null). */
  filter: EventFilter;
  /** Replay the stored events after this id first; null to start live. */
  after: number | null;
  accepts(delivered: DeliveredEvent): boolean;
  /** The stream ends at this moment (the expiry of the token that opened it); null: it does not. */
  endsAt: Date | null;
}

const REPLAY_PAGE = 500;

/**
 * One subscription's events: the stored ones after `after`, then live ones, in id order, with no gap and
 * no duplicate at the seam. It listens to the feed before it reads the store: an event committed during
 * the replay is then either read by the replay or queued, and nothing at or below the last id handed out
 * is handed out again. It ends when the caller's token expires, on every transport (a socket is also closed
 * then; a router's callback subscription has no socket). Written as a plain iterator (not an async generator) so that `return()` ends it at
 * once, even while it waits for the next event.
 */
export function eventStream(feed: EventFeed, options: StreamOptions): AsyncIterableIterator<DeliveredEvent> {
  const live: DeliveredEvent[] = [];
  let lastId = options.after ?? feed.position;
  let replaying = options.after !== null;
  let replayed: DeliveredEvent[] = [];
  let wakeUp: (() => void) | null = null;
  let done = false;
  const stopListening = feed.listen(options.filter, (delivered) => {
    live.push(delivered);
    wakeUp?.();
  });

  const finish = (): IteratorResult<DeliveredEvent> => {
    done = true;
    stopListening();
    cancelEnd();
    live.length = 0;
    wakeUp?.();
    return { value: undefined, done: true };
  };

  const cancelEnd = options.endsAt ? atTime(options.endsAt, finish) : () => undefined;

  /** The next event after `lastId`: from the store while replaying, then from the live queue. */
  async function following(): Promise<DeliveredEvent | null> {
    if (replaying && replayed.length === 0) {
      replayed = await feed.replay(lastId, REPLAY_PAGE, options.filter);
      if (replayed.length < REPLAY_PAGE) replaying = false;
    }
    const delivered = replayed.shift() ?? live.shift();
    return delivered ?? null;
  }

  return {
    async next(): Promise<IteratorResult<DeliveredEvent>> {
      while (!done) {
        const delivered = await following().catch((error: unknown) => {
          finish();
          throw error;
        });
        if (!delivered) {
          await new Promise<void>((resolve) => {
            wakeUp = resolve;
          });
          wakeUp = null;
          continue;
        }
        const id = Number(delivered.event.id);
        if (id <= lastId) continue;
        lastId = id;
        if (options.accepts(delivered)) return { value: delivered, done: false };
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<DeliveredEvent>> {
      return finish();
    },
    async throw(error?: unknown): Promise<IteratorResult<DeliveredEvent>> {
      finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
