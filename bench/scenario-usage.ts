import type { BenchContext } from './context';
import { graphql } from './context';
import { FLOOR_UPDATE, measureFloor } from './floor-update';
import type { Phase } from './load';
import { checkedPost, combine, measureSlice } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import { countersOf, METER_FEATURE, METER_LIMIT } from './setup';
import { round } from './stats';
import type { Tally } from './usage-load';
import { checkCounters, CONNECTIONS, driveUsage, withUsageServer } from './usage-load';

/**
 * Calls before the measured run. On a fresh server the CPU per call kept falling for about the first 10,000
 * (the JIT and the heap warming up), so the run starts after as many, as the ceiling starts after 2 s of
 * warm-up (some 15,000 requests on a 2-core machine).
 */
const WARMUP_REQUESTS = CONNECTIONS * 150;
const CEILING_WARMUP_SECONDS = 2;
const MUTATION =
  'mutation Use($input: RecordUsageInput!) { recordUsage(input: $input) { allowed meter { used remaining } } }';

/**
 * Scenario 3: `recordUsage` over 1,000 users with 64 connections, each request for the next user in turn,
 * against the floor: the conditional UPDATE alone, sent with a mysql2 pool at concurrency 64; and against the
 * same server's own ceiling, `{ __typename }` with the same token, measured half before and half after. Then
 * the counters in the database must have grown, user by user, by the calls that answered `allowed: true`.
 */
export async function runUsage(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const users = ctx.seeded.users;
  const token = await ctx.token('bench-meter', ['usage:write']);
  const bodies = users.map((userId) =>
    JSON.stringify({ query: MUTATION, variables: { input: { userId, feature: METER_FEATURE, amount: 1 } } }),
  );
  const tally: Tally = { allowed: new Array<number>(users.length).fill(0), refused: 0, failed: 0 };

  return withUsageServer(ctx, 'usage', async (server, pool) => {
    const before = await countersOf(pool, METER_FEATURE);
    // Checks the operation once (and counts it like the others).
    const first = await graphql<{ recordUsage: { allowed: boolean } }>(server.url, token, MUTATION, {
      input: { userId: users[0], feature: METER_FEATURE, amount: 1 },
    });
    if (!first.recordUsage.allowed) throw new Error('recordUsage was refused');
    tally.allowed[0] += 1;

    const ceilingAnswer = JSON.stringify({ data: { __typename: 'Query' } });
    const ceilingPhase: Phase = {
      name: 'ceiling',
      server,
      request: checkedPost(server.url, token, JSON.stringify({ query: '{ __typename }' }), ceilingAnswer),
    };
    await measureSlice(ceilingPhase, CEILING_WARMUP_SECONDS);
    const ceilingBefore = await measureSlice(ceilingPhase, options.duration / 2);
    const run = await driveUsage(ctx, server, token, {
      bodies,
      record: (index, status, body) => {
        if (status !== 200) tally.failed += 1;
        else if (body.includes('"allowed":true')) tally.allowed[index] += 1;
        else if (body.includes('"allowed":false')) tally.refused += 1;
        else tally.failed += 1;
      },
      warmupRequests: WARMUP_REQUESTS,
      min: CONNECTIONS * 20,
      max: 500_000,
      profileName: 'usage-server',
    });
    const ceiling = combine([ceilingBefore, await measureSlice(ceilingPhase, options.duration / 2)]);
    const { measured, amount } = run;
    ctx.log(
      `  recordUsage: ${fmt.rps(measured.rps)}, p99 ${fmt.ms(measured.p99)} (${amount} requests, ` +
        `${run.statementsPerRequest.toFixed(2)} SQL statements and ${run.cpuUsPerRequest.toFixed(0)} µs CPU each)`,
    );
    ctx.log(
      `  ceiling { __typename }: ${fmt.rps(ceiling.rps)}, p99 ${fmt.ms(ceiling.p99)}, ` +
        `${ceiling.cpuUsPerRequest.toFixed(0)} µs CPU each`,
    );
    const counters = await checkCounters(pool, users, before, tally, 'calls');

    // The floor: the same conditional UPDATE, 64 at a time, for about as long.
    const floor = await measureFloor(pool, users, measured.seconds, CONNECTIONS);
    ctx.log(`  floor UPDATE: ${fmt.rps(floor.rps)}, p99 ${fmt.ms(floor.latency.p99)}`);

    const ratio = measured.rps / floor.rps;
    const ceilingRatio = measured.rps / ceiling.rps;
    const ceilingFailures = ceiling.non2xx + ceiling.errors + ceiling.mismatches;
    const checks: Check[] = [
      {
        measure: 'rate, 64 connections, 1,000 users',
        value: fmt.rps(measured.rps),
        reference: fmt.rps(floor.rps),
        ratio: fmt.percent(ratio),
        target: '≥ 50% of floor',
        met: ratio >= 0.5,
      },
      {
        measure: 'rate vs `{ __typename }` on the same server',
        value: fmt.rps(measured.rps),
        reference: fmt.rps(ceiling.rps),
        ratio: fmt.percent(ceilingRatio),
        target: '≥ 50% of ceiling',
        met: ceilingRatio >= 0.5 && ceilingFailures === 0,
      },
      {
        measure: 'server CPU per request (recordUsage / `{ __typename }`)',
        value: `${run.cpuUsPerRequest.toFixed(0)} µs`,
        reference: `${ceiling.cpuUsPerRequest.toFixed(0)} µs`,
        ratio: fmt.ratio(run.cpuUsPerRequest / ceiling.cpuUsPerRequest),
        target: '',
        met: null,
      },
      {
        measure: 'p99 latency',
        value: fmt.ms(measured.p99),
        reference: fmt.ms(floor.latency.p99),
        ratio: fmt.ratio(measured.p99 / floor.latency.p99),
        target: '',
        met: null,
      },
      {
        measure: 'SQL statements per call',
        value: run.statementsPerRequest.toFixed(1),
        reference: '1',
        ratio: '',
        target: '',
        met: null,
      },
      counters.check,
    ];
    return {
      name: 'usage',
      title: '3. Usage',
      checks,
      data: {
        recordUsage: {
          ...measured,
          requests: amount,
          warmupRequests: WARMUP_REQUESTS + 1,
          statementsPerCall: round(run.statementsPerRequest),
          cpuUsPerRequest: round(run.cpuUsPerRequest),
        },
        ceiling,
        floor: { rps: round(floor.rps), updated: floor.updated, latencyMs: floor.latency },
        verification: counters.verification,
      },
      notes: [
        `\`recordUsage(input: {userId, feature: "${METER_FEATURE}", amount: 1})\` (a METERED lifetime grant of ` +
          `${METER_LIMIT.toLocaleString('en-US')} per user), each request for the next of the ${users.length} users, ` +
          `autocannon with 64 connections for a fixed number of requests sized to about ${options.duration} s at the ` +
          `rate of the ${WARMUP_REQUESTS.toLocaleString('en-US')} warm-up calls before it (so that no response is ` +
          `lost at the end); afterwards every user's counter in the database ` +
          `must have grown by the calls that answered \`allowed: true\` for it. Floor: \`${FLOOR_UPDATE}\` (one ` +
          `metering write with its limit check) in autocommit on a mysql2 pool of 64 connections, 64 in flight, for as long, on ` +
          `another feature's counters of the same users. Ceiling: \`{ __typename }\` on the same server with the same ` +
          `token and 64 connections, ${options.duration / 2} s just before the recordUsage run and ${options.duration / 2} s ` +
          `just after (after ${CEILING_WARMUP_SECONDS} s of warm-up). CPU per request: the server process's user + ` +
          `system time (/proc/PID/stat) over the run, per completed request.`,
      ],
    };
  });
}
