import type { BenchContext } from './context';
import { graphql } from './context';
import { FLOOR_UPDATE, measureFloor } from './floor-update';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import { countersOf, METER_FEATURE } from './setup';
import { round } from './stats';
import type { Tally } from './usage-load';
import { checkCounters, CONNECTIONS, driveUsage, withUsageServer } from './usage-load';

const BATCH_SIZE = 100;
const WARMUP_BATCHES = CONNECTIONS * 2;
const MUTATION =
  'mutation Use($inputs: [RecordUsageInput!]!) { recordUsageBatch(inputs: $inputs) { allowed } }';

/**
 * Scenario 8: `recordUsageBatch` with batches of 100 inputs over 1,000 users (each batch the next 100 users in
 * turn), 64 connections, against the floor: the usage scenario's conditional UPDATE alone, one row per
 * statement, 64 in flight. Rows per second on both sides; afterwards the counters must have grown, user by
 * user, by exactly the inputs that answered `allowed: true`.
 */
export async function runUsageBatch(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const users = ctx.seeded.users;
  const token = await ctx.token('bench-batch-meter', ['usage:write']);
  const batchCount = Math.ceil(users.length / BATCH_SIZE);
  const batches = Array.from({ length: batchCount }, (_, b) =>
    users
      .slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE)
      .map((userId) => ({ userId, feature: METER_FEATURE, amount: 1 })),
  );
  const bodies = batches.map((inputs) => JSON.stringify({ query: MUTATION, variables: { inputs } }));
  const tally: Tally = { allowed: new Array<number>(users.length).fill(0), refused: 0, failed: 0 };

  return withUsageServer(ctx, 'usage-batch', async (server, pool) => {
    const before = await countersOf(pool, METER_FEATURE);
    const check = await graphql<{ recordUsageBatch: { allowed: boolean }[] }>(server.url, token, MUTATION, {
      inputs: batches[0],
    });
    if (!check.recordUsageBatch.every((result) => result.allowed))
      throw new Error('recordUsageBatch was refused');
    batches[0].forEach((_, i) => (tally.allowed[i] += 1));

    const run = await driveUsage(ctx, server, token, {
      bodies,
      record: (index, status, body) => {
        const results =
          status === 200
            ? (JSON.parse(body) as { data?: { recordUsageBatch: { allowed: boolean }[] } }).data
                ?.recordUsageBatch
            : undefined;
        if (!results) {
          tally.failed += 1;
          return;
        }
        results.forEach((result, i) => {
          if (result.allowed) tally.allowed[index * BATCH_SIZE + i] += 1;
          else tally.refused += 1;
        });
      },
      warmupRequests: WARMUP_BATCHES,
      min: CONNECTIONS * 4,
      max: 50_000,
      profileName: 'usage-batch-server',
    });
    const { measured, amount } = run;
    const rowsPerSecond = measured.rps * BATCH_SIZE;
    ctx.log(
      `  recordUsageBatch: ${fmt.rate(measured.rps, 'batches')} of ${BATCH_SIZE} = ${fmt.rate(rowsPerSecond, 'rows')}, ` +
        `p99 ${fmt.ms(measured.p99)} (${amount} batches, ${run.statementsPerRequest.toFixed(1)} SQL statements ` +
        `and ${run.cpuUsPerRequest.toFixed(0)} µs CPU each)`,
    );
    const counters = await checkCounters(pool, users, before, tally, 'inputs');

    const floor = await measureFloor(pool, users, measured.seconds, CONNECTIONS);
    ctx.log(`  floor UPDATE: ${fmt.rate(floor.rps, 'rows')}, p99 ${fmt.ms(floor.latency.p99)}`);
    const ratio = rowsPerSecond / floor.rps;
    const checks: Check[] = [
      {
        measure: `rows/s, batches of ${BATCH_SIZE}, 64 connections`,
        value: fmt.rate(rowsPerSecond, 'rows'),
        reference: fmt.rate(floor.rps, 'rows'),
        ratio: fmt.percent(ratio),
        target: '≥ 100% of floor',
        met: ratio >= 1,
      },
      {
        measure: 'p99 latency of a batch',
        value: fmt.ms(measured.p99),
        reference: fmt.ms(floor.latency.p99),
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'SQL statements per batch',
        value: run.statementsPerRequest.toFixed(1),
        reference: String(BATCH_SIZE),
        ratio: '',
        target: '',
        met: null,
      },
      {
        // The server is one Node process: its CPU per batch bounds the rate whatever the database does.
        measure: 'server CPU per batch (per row)',
        value: `${run.cpuUsPerRequest.toFixed(0)} µs (${(run.cpuUsPerRequest / BATCH_SIZE).toFixed(0)} µs)`,
        reference: '',
        ratio: '',
        target: '',
        met: null,
      },
      counters.check,
    ];
    return {
      name: 'usageBatch',
      title: '8. Usage batch',
      checks,
      data: {
        recordUsageBatch: {
          ...measured,
          batches: amount,
          batchSize: BATCH_SIZE,
          rowsPerSecond: round(rowsPerSecond),
          statementsPerBatch: round(run.statementsPerRequest),
          cpuUsPerBatch: round(run.cpuUsPerRequest),
        },
        floor: { rps: round(floor.rps), updated: floor.updated, latencyMs: floor.latency },
        verification: counters.verification,
      },
      notes: [
        `\`recordUsageBatch(inputs: [...100 × {userId, feature: "${METER_FEATURE}", amount: 1}])\`, each batch the next ` +
          `${BATCH_SIZE} of the ${users.length} users, autocannon with 64 connections for a fixed number of batches sized ` +
          `to about ${options.duration} s; afterwards each user's counter must have grown by exactly the inputs that ` +
          `answered \`allowed: true\`. Floor: \`${FLOOR_UPDATE}\`, one row per statement, 64 in flight, for as long.`,
      ],
    };
  });
}
