import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { periodWindow } from '../../src/domain/periods';
import type { UsagePeriod } from '../../src/domain/types';

const d = (iso: string) => new Date(iso);

function windowOf(period: UsagePeriod, now: string): { start: string; end: string | null } {
  const w = periodWindow(period, d(now));
  return { start: w.start.toISOString(), end: w.end === null ? null : w.end.toISOString() };
}

describe('periodWindow DAY', () => {
  it('spans the UTC calendar day containing now', () => {
    expect(windowOf('DAY', '2026-06-15T12:34:56.789Z')).toEqual({
      start: '2026-06-15T00:00:00.000Z',
      end: '2026-06-16T00:00:00.000Z',
    });
  });

  it('starts a new day exactly at midnight', () => {
    expect(windowOf('DAY', '2026-06-16T00:00:00.000Z').start).toBe('2026-06-16T00:00:00.000Z');
  });

  it('keeps the last millisecond of a day in that day', () => {
    expect(windowOf('DAY', '2026-06-15T23:59:59.999Z').start).toBe('2026-06-15T00:00:00.000Z');
  });

  it('rolls the end of the last day of a month and a year over to the next', () => {
    expect(windowOf('DAY', '2026-04-30T08:00:00.000Z').end).toBe('2026-05-01T00:00:00.000Z');
    expect(windowOf('DAY', '2026-12-31T08:00:00.000Z').end).toBe('2027-01-01T00:00:00.000Z');
  });

  it('ends a leap day on March 1st', () => {
    expect(windowOf('DAY', '2028-02-29T08:00:00.000Z')).toEqual({
      start: '2028-02-29T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
  });
});

describe('periodWindow WEEK (ISO weeks, Monday to Monday)', () => {
  it('starts on the Monday of the week of a midweek day', () => {
    // 2026-06-17 is a Wednesday.
    expect(windowOf('WEEK', '2026-06-17T10:00:00.000Z')).toEqual({
      start: '2026-06-15T00:00:00.000Z',
      end: '2026-06-22T00:00:00.000Z',
    });
  });

  it('starts on the day itself for a Monday', () => {
    expect(windowOf('WEEK', '2026-06-15T00:00:00.000Z').start).toBe('2026-06-15T00:00:00.000Z');
  });

  it('puts a Sunday in the week that started six days earlier', () => {
    // 2026-06-21 is a Sunday.
    expect(windowOf('WEEK', '2026-06-21T23:59:59.999Z')).toEqual({
      start: '2026-06-15T00:00:00.000Z',
      end: '2026-06-22T00:00:00.000Z',
    });
  });

  it('starts a new week at Monday midnight', () => {
    expect(windowOf('WEEK', '2026-06-22T00:00:00.000Z').start).toBe('2026-06-22T00:00:00.000Z');
  });

  it('reaches back into the previous month', () => {
    // 2026-03-01 is a Sunday.
    expect(windowOf('WEEK', '2026-03-01T12:00:00.000Z')).toEqual({
      start: '2026-02-23T00:00:00.000Z',
      end: '2026-03-02T00:00:00.000Z',
    });
  });

  it('handles ISO week 53 spanning the turn of the year', () => {
    // 2026 has 53 ISO weeks; the last one runs from Monday 2026-12-28 to Sunday 2027-01-03.
    const week53 = { start: '2026-12-28T00:00:00.000Z', end: '2027-01-04T00:00:00.000Z' };
    expect(windowOf('WEEK', '2026-12-31T12:00:00.000Z')).toEqual(week53);
    expect(windowOf('WEEK', '2027-01-03T23:59:59.999Z')).toEqual(week53);
    expect(windowOf('WEEK', '2027-01-04T00:00:00.000Z').start).toBe('2027-01-04T00:00:00.000Z');
  });
});

describe('periodWindow MONTH', () => {
  it('spans the UTC calendar month containing now', () => {
    expect(windowOf('MONTH', '2026-06-15T12:00:00.000Z')).toEqual({
      start: '2026-06-01T00:00:00.000Z',
      end: '2026-07-01T00:00:00.000Z',
    });
  });

  it('keeps the last millisecond of a month in that month', () => {
    expect(windowOf('MONTH', '2028-01-31T23:59:59.999Z')).toEqual({
      start: '2028-01-01T00:00:00.000Z',
      end: '2028-02-01T00:00:00.000Z',
    });
  });

  it('starts a new month at midnight on the first', () => {
    expect(windowOf('MONTH', '2028-02-01T00:00:00.000Z').start).toBe('2028-02-01T00:00:00.000Z');
  });

  it('includes the leap day in February of a leap year', () => {
    expect(windowOf('MONTH', '2028-02-29T23:59:59.999Z')).toEqual({
      start: '2028-02-01T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
  });

  it('ends February on March 1st in a common year', () => {
    expect(windowOf('MONTH', '2027-02-28T12:00:00.000Z').end).toBe('2027-03-01T00:00:00.000Z');
  });

  it('rolls December over to January of the next year', () => {
    expect(windowOf('MONTH', '2027-12-31T23:59:59.999Z')).toEqual({
      start: '2027-12-01T00:00:00.000Z',
      end: '2028-01-01T00:00:00.000Z',
    });
  });

  it('does not overflow from the 31st into a shorter next month', () => {
    expect(windowOf('MONTH', '2026-01-31T12:00:00.000Z')).toEqual({
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-02-01T00:00:00.000Z',
    });
  });
});

describe('periodWindow YEAR', () => {
  it('spans the UTC calendar year containing now', () => {
    expect(windowOf('YEAR', '2028-06-15T12:00:00.000Z')).toEqual({
      start: '2028-01-01T00:00:00.000Z',
      end: '2029-01-01T00:00:00.000Z',
    });
  });

  it('keeps the last millisecond of a year in that year', () => {
    expect(windowOf('YEAR', '2027-12-31T23:59:59.999Z').start).toBe('2027-01-01T00:00:00.000Z');
  });

  it('starts a new year at midnight on January 1st', () => {
    expect(windowOf('YEAR', '2028-01-01T00:00:00.000Z').start).toBe('2028-01-01T00:00:00.000Z');
  });
});

describe('periodWindow NEVER', () => {
  it('is a lifetime window from the epoch without end, whatever now is', () => {
    for (const now of ['1999-03-04T05:06:07.000Z', '2026-06-15T12:00:00.000Z', '2100-01-01T00:00:00.000Z']) {
      expect(windowOf('NEVER', now)).toEqual({ start: '1970-01-01T00:00:00.000Z', end: null });
    }
  });
});

describe('periodWindow in general', () => {
  const periods: UsagePeriod[] = ['DAY', 'WEEK', 'MONTH', 'YEAR'];
  const instants = [
    '2026-01-01T00:00:00.000Z',
    '2026-06-21T23:59:59.999Z',
    '2026-12-31T23:59:59.999Z',
    '2028-02-29T00:00:00.000Z',
    '2031-07-15T13:14:15.161Z',
  ];

  it.each(periods)('%s windows contain now, with an exclusive end', (period) => {
    for (const iso of instants) {
      const now = d(iso);
      const w = periodWindow(period, now);
      expect(w.start.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(w.end).not.toBeNull();
      expect(now.getTime()).toBeLessThan((w.end as Date).getTime());
      // The next window starts exactly where this one ends.
      expect(periodWindow(period, w.end as Date).start).toEqual(w.end);
    }
  });

  it('does not depend on the host time zone', () => {
    // Jest sandboxes process.env, so the zone is set on a child process (about half a second).
    const script = `
      const { periodWindow } = require('./src/domain/periods');
      const now = new Date('2026-12-31T23:30:00.000Z');
      console.log(JSON.stringify(['DAY', 'WEEK', 'MONTH', 'YEAR'].map((p) => periodWindow(p, now))));
    `;
    const expected = [
      { start: '2026-12-31T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
      { start: '2026-12-28T00:00:00.000Z', end: '2027-01-04T00:00:00.000Z' },
      { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
      { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    ];
    // UTC+14 and UTC-8: local dates differ from UTC dates at this instant in both directions.
    for (const zone of ['Pacific/Kiritimati', 'America/Los_Angeles']) {
      const output = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', script], {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, TZ: zone },
        encoding: 'utf8',
      });
      expect(JSON.parse(output)).toEqual(expected);
    }
  });
});
