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

/** One slice of a phase: its load, the server's CPU time over it, and the growth of the phase's count. */
export interface Slice {
  result: LoadResult;
  cpuMs: number;
  counted: number;
}

/**
 * Runs `phase` for `seconds`, rounded to whole seconds: autocannon ends a run at its next one-second sample,
 * so a fraction would be run in full anyway.
 */
export async function measureSlice(phase: Phase, seconds: number): Promise<Slice> {
  const { server, request, count } = phase;
  const countBefore = count ? await count() : 0;
  const cpuBefore = server.cpuMs();
  const result = await load({ ...request, duration: Math.max(1, Math.round(seconds)) });
  const cpuMs = server.cpuMs() - cpuBefore;
  return { result, cpuMs, counted: count ? (await count()) - countBefore : 0 };
}

/** A phase's slices as one: rates over their sum; p50 and p99 the slices' own, weighted by their requests. */
export function combine(slices: Slice[]): PhaseResult {
  const sum = (value: (slice: Slice) => number) => slices.reduce((total, slice) => total + value(slice), 0);
  const completed = sum((slice) => slice.result.completed);
  const weighted = (value: (result: LoadResult) => number) =>
    sum((slice) => value(slice.result) * slice.result.completed) / completed;
  const seconds = sum((slice) => slice.result.seconds);
  return {
    rps: completed / seconds,
    p50: weighted((result) => result.p50),
    p99: weighted((result) => result.p99),
    completed,
    non2xx: sum((slice) => slice.result.non2xx),
    errors: sum((slice) => slice.result.errors),
    mismatches: sum((slice) => slice.result.mismatches),
    timeouts: sum((slice) => slice.result.timeouts),
    seconds,
    cpuUsPerRequest: (sum((slice) => slice.cpuMs) * 1000) / completed,
    counted: sum((slice) => slice.counted),
  };
}

/**
 * Runs every phase for `seconds` in all, cut into `rounds` slices taken in turn (forward, then backward, and
 * so on), so that a change in what else the machine runs falls on each phase alike.
 */
export async function alternate(phases: Phase[], seconds: number, rounds: number): Promise<PhaseResult[]> {
  const slices: Slice[][] = phases.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    const order = phases.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) slices[i].push(await measureSlice(phases[i], seconds / rounds));
  }
  return slices.map(combine);
}

/** A POST of `body` with the bearer token, each answer checked against `answer` (a GraphQL error comes with a 200). */
export function checkedPost(url: string, token: string, body: string, answer: string): Phase['request'] {
  return {
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
    verifyBody: (text) => String(text ?? '').trim() === answer,
  };
}

/** `checkedPost` sending `bodies` in turn, one per request, each answered with `answer`. */
export function rotatingPost(url: string, token: string, bodies: string[], answer: string): Phase['request'] {
  let next = 0;
  return {
    ...checkedPost(url, token, bodies[0], answer),
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  };
}
