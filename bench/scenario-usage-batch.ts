import type { Request } from 'autocannon';

import type { BenchContext } from './context';
import { graphql } from './context';
import { FLOOR_UPDATE, measureFloor } from './floor-update';
import { load } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { idleStatementRate, startServerProcess } from './server-process';
import { countersOf, METER_FEATURE, openPool } from './setup';
import { round } from './stats';

const CONNECTIONS = 64;
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
  const allowed = new Array<number>(users.length).fill(0);
  let refused = 0;
  let failed = 0;
  let next = 0;

  let server: ServerProcess | null = null;
  const pool = openPool(options.databaseUrl, CONNECTIONS);
  try {
    server = await startServerProcess('usage-batch', options, { inspect: options.profile });
    const url = server.url;
    const before = await countersOf(pool, METER_FEATURE);
    const check = await graphql<{ recordUsageBatch: { allowed: boolean }[] }>(url, token, MUTATION, {
      inputs: batches[0],
    });
    if (!check.recordUsageBatch.every((result) => result.allowed))
      throw new Error('recordUsageBatch was refused');
    batches[0].forEach((_, i) => (allowed[i] += 1));

    const requests: Request[] = [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (request, context) => {
          const index = next++ % batchCount;
          (context as { batch: number }).batch = index;
          return { ...request, body: bodies[index] };
        },
        onResponse: (status, body, context) => {
          if (status !== 200) {
            failed += 1;
            return;
          }
          const parsed = JSON.parse(body) as { data?: { recordUsageBatch: { allowed: boolean }[] } };
          const results = parsed.data?.recordUsageBatch;
          if (!results) {
            failed += 1;
            return;
          }
          const offset = (context as { batch: number }).batch * BATCH_SIZE;
          results.forEach((result, i) => {
            if (result.allowed) allowed[offset + i] += 1;
            else refused += 1;
          });
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

    const warm = await run(WARMUP_BATCHES);
    const amount = Math.min(50_000, Math.max(CONNECTIONS * 4, Math.round(warm.rps * options.duration * 1.3)));
    const idleRate = await idleStatementRate(server);
    if (options.profile) await server.profiler?.start();
    const statementsBefore = await server.statements();
    const measured = await run(amount);
    const statements =
      Math.max(0, (await server.statements()) - statementsBefore - idleRate * measured.seconds) /
      measured.completed;
    if (options.profile && server.profiler)
      ctx.saveProfile('usage-batch-server', await server.profiler.stop());
    const rowsPerSecond = measured.rps * BATCH_SIZE;
    ctx.log(
      `  recordUsageBatch: ${fmt.rps(measured.rps)} batches of ${BATCH_SIZE} = ${fmt.rps(rowsPerSecond)} rows, ` +
        `p99 ${fmt.ms(measured.p99)} (${amount} batches, ${statements.toFixed(1)} SQL statements each)`,
    );

    const after = await countersOf(pool, METER_FEATURE);
    const mismatched = users.filter(
      (userId, i) => (after.get(userId) ?? 0) - (before.get(userId) ?? 0) !== allowed[i],
    );
    const counted = users.reduce(
      (sum, userId) => sum + (after.get(userId) ?? 0) - (before.get(userId) ?? 0),
      0,
    );
    const answered = allowed.reduce((a, b) => a + b, 0);

    const floor = await measureFloor(pool, users, measured.seconds, CONNECTIONS);
    ctx.log(`  floor UPDATE: ${fmt.rps(floor.rps)} rows, p99 ${fmt.ms(floor.latency.p99)}`);
    const ratio = rowsPerSecond / floor.rps;
    const exact = mismatched.length === 0 && failed === 0 && refused === 0;
    const checks: Check[] = [
      {
        measure: `rows/s, batches of ${BATCH_SIZE}, 64 connections`,
        value: fmt.rps(rowsPerSecond),
        reference: fmt.rps(floor.rps),
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
        value: statements.toFixed(1),
        reference: String(BATCH_SIZE),
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'counters = allowed inputs, per user',
        value: `${users.length - mismatched.length}/${users.length} users exact; ${counted} counted, ${answered} allowed`,
        reference: '',
        ratio: '',
        target: 'exact, no failure',
        met: exact,
      },
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
          statementsPerBatch: round(statements),
        },
        floor: { rps: round(floor.rps), updated: floor.updated, latencyMs: floor.latency },
        verification: {
          allowedAnswers: answered,
          counted,
          refused,
          failed,
          mismatchedUsers: mismatched.slice(0, 20),
        },
      },
      notes: [
        `\`recordUsageBatch(inputs: [...100 × {userId, feature: "${METER_FEATURE}", amount: 1}])\`, each batch the next ` +
          `${BATCH_SIZE} of the ${users.length} users, autocannon with 64 connections for a fixed number of batches sized ` +
          `to about ${options.duration} s; afterwards each user's counter must have grown by exactly the inputs that ` +
          `answered \`allowed: true\`. Floor: \`${FLOOR_UPDATE}\`, one row per statement, 64 in flight, for as long.`,
      ],
    };
  } finally {
    await server?.stop();
    await pool.end();
  }
}
