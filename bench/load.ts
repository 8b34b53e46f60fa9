import type { Options, Result } from 'autocannon';
import autocannon from 'autocannon';

import type { ChildServer } from './server-process';

export interface LoadResult {
  /** Completed requests per second over the phase. */
  rps: number;
  p50: number;
  p99: number;
  completed: number;
  non2xx: number;
  errors: number;
  /** Responses whose body `verifyBody` refused (0 when not checked). */
  mismatches: number;
  timeouts: number;
  seconds: number;
}

/** One autocannon phase (64 connections unless told), in this process. */
export async function load(options: Options): Promise<LoadResult> {
  const result: Result = await autocannon({ connections: 64, pipelining: 1, ...options });
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    completed: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    mismatches: result.mismatches,
    timeouts: result.timeouts,
    seconds: result.duration,
  };
}

/** One measured phase of `alternate`: a load against one server process. */
export interface Phase {
  name: string;
  server: ChildServer;
  /** autocannon's options, less the duration. */
  request: Omit<Options, 'duration'>;
  /** A count the server keeps (SQL statements sent, say), read before and after each slice. */
  count?: () => Promise<number>;
}

export interface PhaseResult extends LoadResult {
  /** The server process's CPU time (user + system) per completed request, in µs. */
  cpuUsPerRequest: number;
  /** Growth of `count` over the slices (0 without one). */
  counted: number;
}

/**
 * Runs every phase for `seconds` in all, cut into `rounds` slices taken in turn (forward, then backward, and
 * so on), so that a change in what else the machine runs falls on each phase alike. Rates are over the sum
 * of the slices; p50 and p99 are the slices' own, averaged with their requests as weights.
 */
export async function alternate(phases: Phase[], seconds: number, rounds: number): Promise<PhaseResult[]> {
  const slices: { result: LoadResult; cpuMs: number; counted: number }[][] = phases.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    const order = phases.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const { server, request, count } = phases[i];
      const countBefore = count ? await count() : 0;
      const cpuBefore = server.cpuMs();
      const result = await load({ ...request, duration: seconds / rounds });
      const cpuMs = server.cpuMs() - cpuBefore;
      slices[i].push({ result, cpuMs, counted: count ? (await count()) - countBefore : 0 });
    }
  }
  return slices.map((parts) => {
    const sum = (value: (part: (typeof parts)[number]) => number) =>
      parts.reduce((total, part) => total + value(part), 0);
    const completed = sum((part) => part.result.completed);
    const weighted = (value: (result: LoadResult) => number) =>
      sum((part) => value(part.result) * part.result.completed) / completed;
    const secondsRun = sum((part) => part.result.seconds);
    return {
      rps: completed / secondsRun,
      p50: weighted((result) => result.p50),
      p99: weighted((result) => result.p99),
      completed,
      non2xx: sum((part) => part.result.non2xx),
      errors: sum((part) => part.result.errors),
      mismatches: sum((part) => part.result.mismatches),
      timeouts: sum((part) => part.result.timeouts),
      seconds: secondsRun,
      cpuUsPerRequest: (sum((part) => part.cpuMs) * 1000) / completed,
      counted: sum((part) => part.counted),
    };
  });
}
