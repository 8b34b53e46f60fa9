import { atTime } from '../../src/events/at-time';

describe('atTime', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('runs each task of one moment once, when the moment comes, never before', () => {
    const ran: string[] = [];
    const at = new Date(Date.now() + 1000);
    atTime(at, () => ran.push('a'));
    atTime(at, () => ran.push('b'));
    jest.advanceTimersByTime(999);
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ran).toEqual(['a', 'b']);
    jest.advanceTimersByTime(10_000);
    expect(ran).toEqual(['a', 'b']);
  });

  it('runs a task for a moment already past on the next turn, not synchronously', () => {
    const ran: string[] = [];
    atTime(new Date(Date.now() - 5), () => ran.push('late'));
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(0);
    expect(ran).toEqual(['late']);
  });

  it('cancels one task of a moment, and with the last one, the moment', () => {
    const ran: string[] = [];
    const at = new Date(Date.now() + 1000);
    const cancelA = atTime(at, () => ran.push('a'));
    const cancelB = atTime(at, () => ran.push('b'));
    cancelA();
    jest.advanceTimersByTime(1000);
    expect(ran).toEqual(['b']);
    const cancelC = atTime(new Date(Date.now() + 1000), () => ran.push('c'));
    cancelB();
    cancelC();
    expect(jest.getTimerCount()).toBe(0);
  });

  it("waits past setTimeout's ceiling of about 24.8 days", () => {
    const ran: string[] = [];
    atTime(new Date(Date.now() + 40 * 24 * 3600 * 1000), () => ran.push('later'));
    jest.advanceTimersByTime(39 * 24 * 3600 * 1000);
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(24 * 3600 * 1000);
    expect(ran).toEqual(['later']);
  });
});
