import type { BenchContext } from './context';
import { graphql, productionEnv, serveJwks } from './context';
import type { Rung } from './ladder-server';
import type { LoadResult, Phase, PhaseResult } from './load';
import { alternate, checkedPost, rotatingPost } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ChildServer, ServerProcess } from './server-process';
import { idleStatementRate, startLadderServer, startServerProcess } from './server-process';

const WARMUP_SECONDS = 2;
/** Each phase's load is cut into this many slices, taken in turn with the other phases'. */
const ROUNDS = 3;
const FEATURE = 'export.pdf';
/** The ladder's rungs, each a layer more than the one before (bench/ladder-server.ts). */
const RUNGS: { rung: Rung; label: string }[] = [
  { rung: 'bare', label: '(a) node:http, fixed JSON' },
  { rung: 'jwt', label: '(b) (a) + JWT verified per request' },
  { rung: 'graphql', label: '(c) (b) + graphql-js `{ __typename }`' },
];

/**
 * Scenario 2: `hasEntitlement` of one user (through `_entities`, as the router asks it) over HTTP with 64
 * connections, against the ceiling: the same server, token and load answering `{ __typename }`. Both are
 * also set against a ladder of minimal servers on the same machine, in the same run: node:http alone, then
 * with the same token verified, then with graphql-js answering `{ __typename }`.
 */
export async function runHot(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const user = ctx.seeded.users[1];
  // The user's own token, as a frontend's request through the router carries it.
  const token = await ctx.token(user);
  const check = (id: string) =>
    JSON.stringify({
      query: `query Check($r: [_Any!]!) { _entities(representations: $r) { ... on User { hasEntitlement(feature: "${FEATURE}") } } }`,
      variables: { r: [{ __typename: 'User', id }] },
    });
  const hot = check(user);
  // The same check for a different user each request (1,000 in turn), with a token that reads everyone: no two
  // requests in flight share a user, so what concurrent checks share is their round trips, not their rows.
  const readerToken = await ctx.token('bench-reader', ['entitlements:read']);
  const manyUsers = ctx.seeded.users.slice(0, 1000).map(check);
  const ceiling = JSON.stringify({ query: '{ __typename }' });
  const hotAnswer = JSON.stringify({ data: { _entities: [{ hasEntitlement: true }] } });
  const ceilingAnswer = JSON.stringify({ data: { __typename: 'Query' } });

  // The rungs verify tokens as the subgraph does: its JWKS, issuer and audience in production; in
  // development it checks its own key (no issuer, no audience), which the rungs then get served as a JWKS.
  const jwks = options.jwksUrl ? null : await serveJwks(options.devKeyFile);
  const auth = jwks ? { AUTH_JWKS_URL: jwks.url } : productionEnv(options);
  const processes: ChildServer[] = [];
  try {
    const server: ServerProcess = await startServerProcess('hot', options, { inspect: options.profile });
    processes.push(server);
    const check = await graphql<{ _entities: { hasEntitlement: boolean }[] }>(
      server.url,
      token,
      JSON.parse(hot).query,
      JSON.parse(hot).variables,
    );
    if (check._entities[0]?.hasEntitlement !== true)
      throw new Error(`unexpected answer ${JSON.stringify(check)}`);
    const rungs: ChildServer[] = [];
    for (const { rung } of RUNGS) {
      rungs.push(await startLadderServer(rung, options.nodeEnv, auth));
      processes.push(rungs[rungs.length - 1]);
    }

    const idleRate = await idleStatementRate(server);
    const statements = () => server.statements();
    const phases: Phase[] = [
      ...RUNGS.map(({ label }, i) => ({
        name: label,
        server: rungs[i],
        request: checkedPost(rungs[i].url, token, ceiling, ceilingAnswer),
      })),
      {
        name: 'ceiling',
        server,
        request: checkedPost(server.url, token, ceiling, ceilingAnswer),
        count: statements,
      },
      {
        name: 'hasEntitlement',
        server,
        request: checkedPost(server.url, token, hot, hotAnswer),
        count: statements,
      },
      {
        name: 'hasEntitlement, 1,000 users in turn',
        server,
        request: rotatingPost(server.url, readerToken, manyUsers, hotAnswer),
        count: statements,
      },
    ];
    await alternate(phases, WARMUP_SECONDS, 1);
    const measure = async (): Promise<PhaseResult[]> => {
      if (!server.profiler) return alternate(phases, options.duration, ROUNDS);
      // A profile covers one whole phase of the subgraph, so with --profile the phases run one after another.
      const results: PhaseResult[] = [];
      for (const phase of phases) {
        const profiled = phase.server === server ? server.profiler : null;
        await profiled?.start();
        results.push(...(await alternate([phase], options.duration, 1)));
        if (profiled) ctx.saveProfile(`hot-${phase.name}-server`, await profiled.stop());
      }
      return results;
    };
    const results = await measure();
    const [bare, jwt, executed, top, measured, spread] = results;
    const perRequest = (result: PhaseResult) =>
      Math.max(0, result.counted - idleRate * result.seconds) / result.completed;
    for (const [i, phase] of phases.entries()) {
      const result = results[i];
      ctx.log(
        `  ${phase.name}: ${fmt.rps(result.rps)} (${fmt.percent(result.rps / bare.rps)} of (a)), ` +
          `p99 ${fmt.ms(result.p99)}, ${result.cpuUsPerRequest.toFixed(0)} µs CPU per request` +
          (phase.count ? `, ${perRequest(result).toFixed(2)} SQL statements per request` : ''),
      );
    }

    const rpsRatio = measured.rps / top.rps;
    const p99Ratio = measured.p99 / top.p99;
    const failed = (result: LoadResult) => result.non2xx + result.errors + result.mismatches;
    const failures = results.reduce((sum, result) => sum + failed(result), 0);
    const rate = (result: PhaseResult) =>
      `${fmt.rps(result.rps)}, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req`;
    // Issue 19's targets: the subgraph's phases as a share of rung (c), the authenticated GraphQL answer.
    const againstRungC = (what: string, phase: typeof measured, target: number): Check => ({
      measure: `ladder: subgraph ${what} vs (c)`,
      value: `${rate(phase)} (${fmt.percent(phase.rps / bare.rps)} of (a))`,
      reference: fmt.rps(executed.rps),
      ratio: fmt.percent(phase.rps / executed.rps),
      target: `≥ ${fmt.percent(target)} of (c)`,
      met: phase.rps / executed.rps >= target,
    });
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
        value: perRequest(measured).toFixed(1),
        reference: perRequest(top).toFixed(1),
        ratio: '',
        target: '',
        met: null,
      },
      ...RUNGS.map(({ label }, i) => ({
        measure: `ladder ${label}`,
        value: rate(results[i]),
        reference: i === 0 ? '' : fmt.rps(bare.rps),
        ratio: i === 0 ? '' : `${fmt.percent(results[i].rps / bare.rps)} of (a)`,
        target: '',
        met: null,
      })),
      againstRungC('`{ __typename }`', top, 0.4),
      againstRungC('hot check', measured, 0.25),
      againstRungC('hot check, 1,000 users in turn', spread, 0.25),
      {
        measure: 'SQL statements per request, 1,000 users in turn',
        value: perRequest(spread).toFixed(2),
        reference: '',
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'failed requests (non-2xx, errors, wrong answers), all phases',
        value: String(failed(measured)),
        reference: String(failures - failed(measured)),
        ratio: '',
        target: '0',
        met: failures === 0,
      },
    ];
    const withShare = (result: PhaseResult) => ({ ...result, shareOfBare: result.rps / bare.rps });
    return {
      name: 'hot',
      title: '2. Hot check',
      checks,
      data: {
        hasEntitlement: { ...withShare(measured), statements: perRequest(measured) },
        hasEntitlementManyUsers: { ...withShare(spread), statements: perRequest(spread) },
        ceiling: { ...withShare(top), statements: perRequest(top) },
        ladder: { bare: withShare(bare), jwt: withShare(jwt), graphql: withShare(executed) },
        idleStatementsPerSecond: idleRate,
      },
      notes: [
        `\`_entities(representations: [{__typename: "User", id: "${user}"}]) { ... on User { hasEntitlement(feature: "${FEATURE}") } }\` ` +
          `with the user's own token (and the same check for bench-0 ... bench-999 in turn, a token with ` +
          `entitlements:read), autocannon in the bench process, 64 connections, pipelining 1; the server is ` +
          `\`node dist/main.js\` (NODE_ENV=${options.nodeEnv}, LOG_LEVEL=${options.logLevel}, REDIS_URL set). Ceiling: ` +
          `\`{ __typename }\` with the same token, same server process, same load. Ladder: bench/ladder-server.ts in ` +
          `its own process per rung, sent the ceiling's request with the same token: (a) node:http reading the body ` +
          `and answering a fixed JSON; (b) (a) with the token verified on every request by jose's jwtVerify against ` +
          `the subgraph's JWKS (createRemoteJWKSet), issuer and audience (the subgraph keeps a bounded cache of ` +
          `verified tokens, so it verifies this token once); (c) (b) with graphql-js executing the query, parsed and ` +
          `validated once, against a one-field schema. Each of the six phases runs ${ROUNDS} slices of ` +
          `${Math.max(1, Math.round(options.duration / ROUNDS))} s after ${WARMUP_SECONDS} s of warm-up, taken in turn (forward, backward, forward), ` +
          `so a change in the shared machine's load falls on all alike; autocannon shares the 2 cores with the ` +
          `server it loads, so each rate is what one server process gets beside its load generator. p50 and p99: ` +
          `the slices' own, weighted by their requests. CPU per request: the server process's user + system time ` +
          `(/proc/PID/stat) over its slices, per completed request (the subgraph's includes its background work: ` +
          `event feed, expiry sweeper). SQL statements per request: counted in the server process ` +
          `(bench/count-statements.cjs wraps mysql2's query), less the idle rate of its background reads.`,
      ],
    };
  } finally {
    await Promise.all(processes.map((process) => process.stop()));
    jwks?.close();
  }
}
