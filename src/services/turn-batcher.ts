interface Entry<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Batch<T, R> {
  entries: Entry<T, R>[];
  size: number;
  /** The turn it was opened in is over: it may be sent. */
  due: boolean;
}

interface Group<T, R> {
  /** The batch taking items, if any. */
  open: Batch<T, R> | null;
  /** Batches that filled up, waiting for a run. */
  full: Batch<T, R>[];
  running: number;
}

export interface TurnBatcherLimits {
  /** A batch takes items until their sizes add up to this; the next item starts another. */
  maxSize: number;
  /**
   * Runs of one group at once (default: no limit). At the limit a due batch keeps taking items until a run
   * ends, so under load batches grow instead of queueing up.
   */
  maxRunning?: number;
}

/**
 * Gathers what concurrent requests ask for during one turn of the event loop into one batch per group, run
 * once the turn's I/O callbacks are done (setImmediate): one transaction or round trip for many requests
 * rather than one each. A batch is sent after every request in it arrived and nothing joins a batch once
 * sent, so a batch never answers with anything older than its requests; nothing is kept after it.
 *
 * `run` answers the items of one batch in order, an Error rejecting that item's caller alone.
 */
export class TurnBatcher<T, R> {
  private readonly groups = new Map<string, Group<T, R>>();
  private readonly maxRunning: number;

  constructor(
    private readonly run: (group: string, items: T[]) => Promise<(R | Error)[]>,
    private readonly limits: TurnBatcherLimits,
  ) {
    this.maxRunning = limits.maxRunning ?? Infinity;
  }

  add(groupKey: string, item: T, size = 1): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let group = this.groups.get(groupKey);
      if (!group) this.groups.set(groupKey, (group = { open: null, full: [], running: 0 }));
      if (group.open && group.open.size + size > this.limits.maxSize) {
        group.full.push(group.open);
        group.open = null;
        this.pump(groupKey, group);
      }
      let batch = group.open;
      if (!batch) {
        const opened: Batch<T, R> = { entries: [], size: 0, due: false };
        group.open = batch = opened;
        const ready = group;
        setImmediate(() => {
          opened.due = true;
          this.pump(groupKey, ready);
        });
      }
      batch.entries.push({ item, resolve, reject });
      batch.size += size;
    });
  }

  /** Sends what may be sent while the group has runs to spare; forgets the group once it is idle. */
  private pump(groupKey: string, group: Group<T, R>): void {
    while (group.running < this.maxRunning) {
      let batch = group.full.shift();
      if (!batch && group.open?.due) {
        batch = group.open;
        group.open = null;
      }
      if (!batch) break;
      group.running += 1;
      void this.send(groupKey, batch).then(() => {
        group.running -= 1;
        this.pump(groupKey, group);
      });
    }
    const idle = group.running === 0 && !group.open && group.full.length === 0;
    if (idle && this.groups.get(groupKey) === group) this.groups.delete(groupKey);
  }

  private async send(groupKey: string, { entries }: Batch<T, R>): Promise<void> {
    try {
      const results = await this.run(
        groupKey,
        entries.map((entry) => entry.item),
      );
      entries.forEach((entry, i) => {
        const result = results[i];
        if (result instanceof Error) entry.reject(result);
        else entry.resolve(result);
      });
    } catch (error) {
      for (const entry of entries) entry.reject(error);
    }
  }
}
