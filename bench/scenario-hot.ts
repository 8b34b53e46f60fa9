import type { BenchContext } from './context';
import { graphql } from './context';
import type { LoadResult } from './load';
import { load } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess } from './server-process';
import { idleStatementRate } from './server-process';

const WARMUP_SECONDS = 2;
const FEATURE = 'export.pdf';

/**
 * Scenario 2: `hasEntitlement` of one user (through `_entities`, as the router asks it) over HTTP with 64
 * connections, against the ceiling: the same server, token and load answering `{ __typename }`.
 */
export async function runHot(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const user = ctx.seeded.users[1];
  // The user's own token, as a frontend's request through the router carries it.
  const token = await ctx.token(user);
  const hot = JSON.stringify({
    query: `query Check($r: [_Any!]!) { _entities(representations: $r) { ... on User { hasEntitlement(feature: "${FEATURE}") } } }`,
    variables: { r: [{ __typename: 'User', id: user }] },
  });
  const ceiling = JSON.stringify({ query: '{ __typename }' });
  // Every answer under load is checked, not only its status: a GraphQL error comes with a 200.
  const hotAnswer = JSON.stringify({ data: { _entities: [{ hasEntitlement: true }] } });
  const ceilingAnswer = JSON.stringify({ data: { __typename: 'Query' } });

  let server: ServerProcess | null = null;
  try {
    server = await startServerProcess('hot', options, { inspect: options.profile });
    const check = await graphql<{ _entities: { hasEntitlement: boolean }[] }>(
      server.url,
      token,
      JSON.parse(hot).query,
      JSON.parse(hot).variables,
    );
    if (check._entities[0]?.hasEntitlement !== true)
      throw new Error(`unexpected answer ${JSON.stringify(check)}`);

    const idleRate = await idleStatementRate(server);
    const phase = async (
      body: string,
      answer: string,
      seconds: number,
      profileName?: string,
    ): Promise<LoadResult & { statements: number }> => {
      const run = server as ServerProcess;
      if (profileName) await run.profiler?.start();
      const before = await run.statements();
      const result = await load({
        url: run.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
        duration: seconds,
        verifyBody: (text) => String(text ?? '').trim() === answer,
      });
      const statements = (await run.statements()) - before - idleRate * result.seconds;
      if (profileName && run.profiler) ctx.saveProfile(profileName, await run.profiler.stop());
      return { ...result, statements: Math.max(0, statements) / result.completed };
    };
    await phase(ceiling, ceilingAnswer, WARMUP_SECONDS);
    await phase(hot, hotAnswer, WARMUP_SECONDS);
    const top = await phase(
      ceiling,
      ceilingAnswer,
      options.duration,
      options.profile ? 'hot-ceiling-server' : undefined,
    );
    ctx.log(`  ceiling { __typename }: ${fmt.rps(top.rps)}, p99 ${fmt.ms(top.p99)}`);
    const measured = await phase(
      hot,
      hotAnswer,
      options.duration,
      options.profile ? 'hot-server' : undefined,
    );
    ctx.log(
      `  hasEntitlement: ${fmt.rps(measured.rps)}, p99 ${fmt.ms(measured.p99)}, ` +
        `${measured.statements.toFixed(2)} SQL statements per request`,
    );

    const rpsRatio = measured.rps / top.rps;
    const p99Ratio = measured.p99 / top.p99;
    const failed = (result: LoadResult) => result.non2xx + result.errors + result.mismatches;
    const failures = failed(measured) + failed(top);
    const checks: Check[] = [
      {
        measure: 'throughput, 64 connections',
        value: fmt.rps(measured.rps),
        reference: fmt.rps(top.rps),
        ratio: fmt.percent(rpsRatio),
        target: '≥ 50% of ceiling',
        met: rpsRatio >= 0.5,
      },
      {
        measure: 'p99 latency',
        value: fmt.ms(measured.p99),
        reference: fmt.ms(top.p99),
        ratio: fmt.ratio(p99Ratio),
        target: '< 4× ceiling',
        met: p99Ratio < 4,
      },
      {
        measure: 'p50 latency',
        value: fmt.ms(measured.p50),
        reference: fmt.ms(top.p50),
        ratio: fmt.ratio(measured.p50 / top.p50),
        target: '',
        met: null,
      },
      {
        measure: 'SQL statements per request',
        value: measured.statements.toFixed(1),
        reference: top.statements.toFixed(1),
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'failed requests (non-2xx, errors, wrong answers)',
        value: String(failed(measured)),
        reference: String(failed(top)),
        ratio: '',
        target: '0',
        met: failures === 0,
      },
    ];
    return {
      name: 'hot',
      title: '2. Hot check',
      checks,
      data: { hasEntitlement: measured, ceiling: top, idleStatementsPerSecond: idleRate },
      notes: [
        `\`_entities(representations: [{__typename: "User", id: "${user}"}]) { ... on User { hasEntitlement(feature: "${FEATURE}") } }\` ` +
          `with the user's own token, autocannon in the bench process, 64 connections, pipelining 1, ` +
          `${options.duration} s after ${WARMUP_SECONDS} s of warm-up; the server is \`node dist/main.js\` ` +
          `(NODE_ENV=${options.nodeEnv}, LOG_LEVEL=${options.logLevel}, REDIS_URL set). Ceiling: \`{ __typename }\` with ` +
          `the same token (JWT verified per request), same server process, same load, measured just before. SQL statements per request: counted in the server process (bench/count-statements.cjs wraps mysql2's query), less the idle rate of its background reads, over the requests completed.`,
      ],
    };
  } finally {
    await server?.stop();
  }
}
