import type { TurnBatcherLimits } from '../../src/services/turn-batcher';
import { TurnBatcher } from '../../src/services/turn-batcher';

/** A batcher whose runs the test settles by hand, with every run's group and items kept. */
function batcherWithRuns(limits: TurnBatcherLimits = { maxSize: 100 }) {
  const runs: { group: string; items: string[]; settle(results: (string | Error)[] | Error): void }[] = [];
  const batcher = new TurnBatcher<string, string>(
    (group, items) =>
      new Promise((resolve, reject) =>
        runs.push({
          group,
          items,
          settle: (results) => (results instanceof Error ? reject(results) : resolve(results)),
        }),
      ),
    limits,
  );
  return { batcher, runs };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it('runs what one turn of the event loop asks for as one batch per group, answers in order', async () => {
    const { batcher, runs } = batcherWithRuns();
    const answers = [batcher.add('a', 'x'), batcher.add('b', 'y'), batcher.add('a', 'z')];
    expect(runs).toHaveLength(0);
    await nextTurn();
    expect(runs.map(({ group, items }) => [group, items])).toEqual([
      ['a', ['x', 'z']],
      ['b', ['y']],
    ]);
    runs[0].settle(['X', 'Z']);
    runs[1].settle(['Y']);
    expect(await Promise.all(answers)).toEqual(['X', 'Y', 'Z']);
  });

  it('never adds to a batch already sent: a later request gets a run of its own', async () => {
    const { batcher, runs } = batcherWithRuns();
    const first = batcher.add('a', 'before');
    await nextTurn();
    const second = batcher.add('a', 'after');
    await nextTurn();
    expect(runs.map((run) => run.items)).toEqual([['before'], ['after']]);
    runs[1].settle(['AFTER']);
    runs[0].settle(['BEFORE']);
    expect(await Promise.all([first, second])).toEqual(['BEFORE', 'AFTER']);
  });

  it('sends a batch once its items fill it and starts the next one', async () => {
    const { batcher, runs } = batcherWithRuns({ maxSize: 10 });
    const answers = [batcher.add('a', 'six', 6), batcher.add('a', 'four', 4), batcher.add('a', 'one', 1)];
    expect(runs.map((run) => run.items)).toEqual([['six', 'four']]);
    await nextTurn();
    expect(runs.map((run) => run.items)).toEqual([['six', 'four'], ['one']]);
    runs[0].settle(['6', '4']);
    runs[1].settle(['1']);
    expect(await Promise.all(answers)).toEqual(['6', '4', '1']);
  });

  it('refuses one caller with its Error and the whole batch when the run fails', async () => {
    const { batcher, runs } = batcherWithRuns();
    const refused = batcher.add('a', 'bad');
    const answered = batcher.add('a', 'good');
    await nextTurn();
    runs[0].settle([new Error('bad input'), 'GOOD']);
    await expect(refused).rejects.toThrow('bad input');
    await expect(answered).resolves.toBe('GOOD');

    const both = [batcher.add('a', 'one'), batcher.add('a', 'two')];
    await nextTurn();
    runs[1].settle(new Error('database gone'));
    for (const answer of both) await expect(answer).rejects.toThrow('database gone');
  });

  it('at its limit of runs, lets a due batch take items until a run ends', async () => {
    const { batcher, runs } = batcherWithRuns({ maxSize: 100, maxRunning: 1 });
    const first = batcher.add('a', 'one');
    await nextTurn();
    const later = [batcher.add('a', 'two')];
    await nextTurn();
    later.push(batcher.add('a', 'three'));
    await nextTurn();
    expect(runs.map((run) => run.items)).toEqual([['one']]);
    runs[0].settle(['1']);
    expect(await first).toBe('1');
    await nextTurn();
    expect(runs.map((run) => run.items)).toEqual([['one'], ['two', 'three']]);
    runs[1].settle(['2', '3']);
    expect(await Promise.all(later)).toEqual(['2', '3']);
  });
});
