import type { Request } from 'autocannon';

import type { BenchContext } from './context';
import { graphql } from './context';
import { FLOOR_UPDATE, measureFloor } from './floor-update';
import { load } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess } from './server-process';
import { idleStatementRate } from './server-process';
import { countersOf, METER_FEATURE, METER_LIMIT, openPool } from './setup';
import { round } from './stats';

const CONNECTIONS = 64;
const WARMUP_REQUESTS = CONNECTIONS * 10;
const MUTATION =
  'mutation Use($input: RecordUsageInput!) { recordUsage(input: $input) { allowed meter { used remaining } } }';

/**
 * Scenario 3: `recordUsage` over 1,000 users with 64 connections, each request for the next user in turn,
 * against the floor: the conditional UPDATE alone, sent with a mysql2 pool at concurrency 64. autocannon runs
 * a fixed number of requests (not a duration), so that every request sent has its response counted; then the
 * counters in the database must equal, user by user, the calls that answered `allowed: true`.
 */
export async function runUsage(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const users = ctx.seeded.users;
  const token = await ctx.token('bench-meter', ['usage:write']);
  const bodies = users.map((userId) =>
    JSON.stringify({ query: MUTATION, variables: { input: { userId, feature: METER_FEATURE, amount: 1 } } }),
  );
  const allowed = new Array<number>(users.length).fill(0);
  let refused = 0;
  let failed = 0;
  let next = 0;

  let server: ServerProcess | null = null;
  const pool = openPool(options.databaseUrl, CONNECTIONS);
  try {
    server = await startServerProcess('usage', options, { inspect: options.profile });
    const url = server.url;
    // Checks the operation once (and counts it like the others).
    const first = await graphql<{ recordUsage: { allowed: boolean } }>(url, token, MUTATION, {
      input: { userId: users[0], feature: METER_FEATURE, amount: 1 },
    });
    if (!first.recordUsage.allowed) throw new Error('recordUsage was refused');
    allowed[0] += 1;

    const requests: Request[] = [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (request, context) => {
          const index = next++ % users.length;
          (context as { user: number }).user = index;
          return { ...request, body: bodies[index] };
        },
        onResponse: (status, body, context) => {
          if (status !== 200) failed += 1;
          else if (body.includes('"allowed":true')) allowed[(context as { user: number }).user] += 1;
          else if (body.includes('"allowed":false')) refused += 1;
          else failed += 1;
        },
      },
    ];
    const run = (amount: number) =>
      load({
        url,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        requests,
        amount,
        connections: CONNECTIONS,
      });

    const warm = await run(WARMUP_REQUESTS);
    // About `duration` seconds of work at the warm-up's rate (a cold start's rate, hence the margin).
    const amount = Math.min(
      500_000,
      Math.max(CONNECTIONS * 20, Math.round(warm.rps * options.duration * 1.3)),
    );
    const idleRate = await idleStatementRate(server);
    if (options.profile) await server.profiler?.start();
    const statementsBefore = await server.statements();
    const measured = await run(amount);
    const statements =
      Math.max(0, (await server.statements()) - statementsBefore - idleRate * measured.seconds) /
      measured.completed;
    if (options.profile && server.profiler) ctx.saveProfile('usage-server', await server.profiler.stop());
    ctx.log(
      `  recordUsage: ${fmt.rps(measured.rps)}, p99 ${fmt.ms(measured.p99)} (${amount} requests, ` +
        `${statements.toFixed(2)} SQL statements each)`,
    );

    // Every call that answered allowed must be in the counters, and nothing else.
    const counters = await countersOf(pool, METER_FEATURE);
    const mismatched = users.filter((userId, i) => (counters.get(userId) ?? 0) !== allowed[i]);
    const counted = [...counters.values()].reduce((a, b) => a + b, 0);
    const answered = allowed.reduce((a, b) => a + b, 0);

    // The floor: the same conditional UPDATE, 64 at a time, for about as long.
    const floor = await measureFloor(pool, users, measured.seconds, CONNECTIONS);
    const { rps: floorRps, updated: floorUpdated, latency: floorStats } = floor;
    ctx.log(`  floor UPDATE: ${fmt.rps(floorRps)}, p99 ${fmt.ms(floorStats.p99)}`);

    const ratio = measured.rps / floorRps;
    const exact = mismatched.length === 0 && failed === 0 && refused === 0;
    const checks: Check[] = [
      {
        measure: 'rate, 64 connections, 1,000 users',
        value: fmt.rps(measured.rps),
        reference: fmt.rps(floorRps),
        ratio: fmt.percent(ratio),
        target: '≥ 50% of floor',
        met: ratio >= 0.5,
      },
      {
        measure: 'p99 latency',
        value: fmt.ms(measured.p99),
        reference: fmt.ms(floorStats.p99),
        ratio: fmt.ratio(measured.p99 / floorStats.p99),
        target: '',
        met: null,
      },
      {
        measure: 'SQL statements per call',
        value: statements.toFixed(1),
        reference: '1',
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'counters = allowed calls, per user',
        value: `${users.length - mismatched.length}/${users.length} users exact; ${counted} counted, ${answered} allowed`,
        reference: '',
        ratio: '',
        target: 'exact, no failure',
        met: exact,
      },
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
          statementsPerCall: round(statements),
        },
        floor: { rps: round(floorRps), updated: floorUpdated, latencyMs: floorStats },
        verification: {
          allowedAnswers: answered,
          counted,
          refused,
          failed,
          mismatchedUsers: mismatched.slice(0, 20),
        },
      },
      notes: [
        `\`recordUsage(input: {userId, feature: "${METER_FEATURE}", amount: 1})\` (a METERED lifetime grant of ` +
          `${METER_LIMIT.toLocaleString('en-US')} per user), each request for the next of the ${users.length} users, ` +
          `autocannon with 64 connections for a fixed number of requests sized to about ${options.duration} s at the ` +
          `warm-up's rate (so that no response is lost at the end); afterwards every user's counter in the database ` +
          `is compared with the calls that answered \`allowed: true\` for it. Floor: \`${FLOOR_UPDATE}\` (one ` +
          `metering write with its limit check) in autocommit on a mysql2 pool of 64 connections, 64 in flight, for as long, on ` +
          `another feature's counters of the same users.`,
      ],
    };
  } finally {
    await server?.stop();
    await pool.end();
  }
}
