/**
 * What the usage scenarios (3 and 8) share: their server and pool, the load that sends each request for the
 * next body in turn and tallies every answer, and the check of the counters against that tally.
 */
import type { Request } from 'autocannon';
import type { Pool } from 'mysql2/promise';

import type { BenchContext } from './context';
import type { LoadResult } from './load';
import { load } from './load';
import type { Check } from './report';
import type { ServerProcess } from './server-process';
import { idleStatementRate, startServerProcess } from './server-process';
import { countersOf, METER_FEATURE, openPool } from './setup';

export const CONNECTIONS = 64;

/** What the answers said: the inputs allowed per user, and how many were refused or failed. */
export interface Tally {
  allowed: number[];
  refused: number;
  failed: number;
}

/** A server of its own and a pool on the bench database for `work`, both closed afterwards. */
export async function withUsageServer<T>(
  ctx: BenchContext,
  name: string,
  work: (server: ServerProcess, pool: Pool) => Promise<T>,
): Promise<T> {
  let server: ServerProcess | null = null;
  const pool = openPool(ctx.options.databaseUrl, CONNECTIONS);
  try {
    server = await startServerProcess(name, ctx.options, { inspect: ctx.options.profile });
    return await work(server, pool);
  } finally {
    await server?.stop();
    await pool.end();
  }
}

export interface UsageLoad {
  /** Request bodies, sent in turn. */
  bodies: string[];
  /** Counts one answer into the tally; `index` is its body's. */
  record(index: number, status: number, body: string): void;
  warmupRequests: number;
  /** Bounds of the measured run's number of requests. */
  min: number;
  max: number;
  /** Name of the server's CPU profile (with --profile). */
  profileName: string;
}

export interface UsageRun {
  measured: LoadResult;
  /** Requests of the measured run. */
  amount: number;
  statementsPerRequest: number;
  /** The server process's CPU time (user + system) per completed request, in µs. */
  cpuUsPerRequest: number;
}

/**
 * 64 connections, each request for the next body in turn: a warm-up, then a fixed number of requests (not a
 * duration, so that every request sent has its answer counted) sized to about `duration` seconds at the
 * warm-up's rate (a cold start's rate, hence the margin). SQL statements per request are counted in the server,
 * less its idle rate.
 */
export async function driveUsage(
  ctx: BenchContext,
  server: ServerProcess,
  token: string,
  usage: UsageLoad,
): Promise<UsageRun> {
  let next = 0;
  let lastAnswerAt = 0;
  const requests: Request[] = [
    {
      method: 'POST',
      path: '/graphql',
      setupRequest: (request, context) => {
        const index = next++ % usage.bodies.length;
        (context as { index: number }).index = index;
        return { ...request, body: usage.bodies[index] };
      },
      onResponse: (status, body, context) => {
        lastAnswerAt = performance.now();
        usage.record((context as { index: number }).index, status, body);
      },
    },
  ];
  // autocannon ends a run of a fixed amount at its next one-second sample, so its duration is whole seconds
  // (a rate up to a third low at 3 s); the rate is taken from the last answer instead.
  const run = async (amount: number) => {
    const startedAt = performance.now();
    const counted = await load({
      url: server.url,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      requests,
      amount,
      connections: CONNECTIONS,
    });
    const seconds = (lastAnswerAt - startedAt) / 1000;
    return { counted, measured: { ...counted, seconds, rps: counted.completed / seconds } };
  };

  const warm = await run(usage.warmupRequests);
  const amount = Math.min(
    usage.max,
    Math.max(usage.min, Math.round(warm.measured.rps * ctx.options.duration * 1.3)),
  );
  const idleRate = await idleStatementRate(server);
  if (ctx.options.profile) await server.profiler?.start();
  const statementsBefore = await server.statements();
  const cpuBefore = server.cpuMs();
  const { counted, measured } = await run(amount);
  const cpuMs = server.cpuMs() - cpuBefore;
  const statements = (await server.statements()) - statementsBefore - idleRate * counted.seconds;
  if (ctx.options.profile && server.profiler)
    ctx.saveProfile(usage.profileName, await server.profiler.stop());
  return {
    measured,
    amount,
    statementsPerRequest: Math.max(0, statements) / measured.completed,
    cpuUsPerRequest: (cpuMs * 1000) / measured.completed,
  };
}

/**
 * Each user's counter must have grown from `before` by exactly the inputs that answered `allowed: true` for
 * it, with no refusal and no failure.
 */
export async function checkCounters(
  pool: Pool,
  users: string[],
  before: Map<string, number>,
  tally: Tally,
  what: string,
): Promise<{ check: Check; verification: Record<string, unknown> }> {
  const after = await countersOf(pool, METER_FEATURE);
  const grown = users.map((userId) => (after.get(userId) ?? 0) - (before.get(userId) ?? 0));
  const mismatched = users.filter((_, i) => grown[i] !== tally.allowed[i]);
  const counted = grown.reduce((a, b) => a + b, 0);
  const answered = tally.allowed.reduce((a, b) => a + b, 0);
  return {
    check: {
      measure: `counters = allowed ${what}, per user`,
      value: `${users.length - mismatched.length}/${users.length} users exact; ${counted} counted, ${answered} allowed`,
      reference: '',
      ratio: '',
      target: 'exact, no failure',
      met: mismatched.length === 0 && tally.failed === 0 && tally.refused === 0,
    },
    verification: {
      allowedAnswers: answered,
      counted,
      refused: tally.refused,
      failed: tally.failed,
      mismatchedUsers: mismatched.slice(0, 20),
    },
  };
}
