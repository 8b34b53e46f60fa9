import type { UsagePeriod } from './types';

export interface PeriodWindow {
  start: Date;
  /** Exclusive end; null for a lifetime (NEVER) quota. */
  end: Date | null;
}

const LIFETIME_START = new Date(0);

/** The UTC calendar window of `period` that contains `now`. Weeks are ISO weeks, starting on Monday. */
export function periodWindow(period: UsagePeriod, now: Date): PeriodWindow {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  switch (period) {
    case 'DAY':
      return { start: utc(year, month, day), end: utc(year, month, day + 1) };
    case 'WEEK': {
      const daysSinceMonday = (now.getUTCDay() + 6) % 7;
      return {
        start: utc(year, month, day - daysSinceMonday),
        end: utc(year, month, day - daysSinceMonday + 7),
      };
    }
    case 'MONTH':
      return { start: utc(year, month, 1), end: utc(year, month + 1, 1) };
    case 'YEAR':
      return { start: utc(year, 0, 1), end: utc(year + 1, 0, 1) };
    case 'NEVER':
      return { start: LIFETIME_START, end: null };
  }
}

// Date.UTC normalises overflowing days and months (day 32, month 12), which the windows rely on.
const utc = (year: number, month: number, day: number) => new Date(Date.UTC(year, month, day));
