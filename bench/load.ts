import type { Options, Result } from 'autocannon';
import autocannon from 'autocannon';

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
