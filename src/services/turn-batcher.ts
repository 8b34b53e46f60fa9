interface Entry<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface OpenBatch<T, R> {
  entries: Entry<T, R>[];
  size: number;
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
  private readonly open = new Map<string, OpenBatch<T, R>>();

  constructor(
    private readonly run: (group: string, items: T[]) => Promise<(R | Error)[]>,
    /** A batch takes items until their sizes add up to this; the next item starts another. */
    private readonly maxSize: number,
  ) {}

  add(group: string, item: T, size = 1): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let batch = this.open.get(group);
      if (batch && batch.size + size > this.maxSize) {
        this.send(group, batch);
        batch = undefined;
      }
      if (!batch) {
        const created: OpenBatch<T, R> = { entries: [], size: 0 };
        this.open.set(group, created);
        setImmediate(() => this.send(group, created));
        batch = created;
      }
      batch.entries.push({ item, resolve, reject });
      batch.size += size;
    });
  }

  private send(group: string, batch: OpenBatch<T, R>): void {
    if (this.open.get(group) !== batch) return; // sent already, when it filled up
    this.open.delete(group);
    const { entries } = batch;
    this.run(
      group,
      entries.map((entry) => entry.item),
    ).then(
      (results) =>
        entries.forEach((entry, i) => {
          const result = results[i];
          if (result instanceof Error) entry.reject(result);
          else entry.resolve(result);
        }),
      (error: unknown) => entries.forEach((entry) => entry.reject(error)),
    );
  }
}
