import { performance } from 'node:perf_hooks';

import { createRemoteJWKSet, jwtVerify } from 'jose';

import type { BenchContext } from './context';
import { graphql } from './context';
import type { LoadResult } from './load';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess } from './server-process';
import { summarize } from './stats';

const FEATURE = 'export.pdf';
/** As many checks in flight as the hot check has connections. */
const CONCURRENCY = 64;
const WARMUP_SECONDS = 1;
const LATENCY_SECONDS = 3;

interface VerifyRun {
  checks: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  failures: number;
}

/**
 * Scenario 6: what a service does instead of the hot check once it holds a license token: verify it offline
 * (jose's jwtVerify against the server's JWKS, fetched once and cached by createRemoteJWKSet) and read
 * the feature from its claims. Checks per second in this one process, against the hot check's requests per
 * second when the same run measured it.
 */
export async function runTokens(ctx: BenchContext, earlier: ScenarioResult[]): Promise<ScenarioResult> {
  const { options } = ctx;
  const user = ctx.seeded.users[1];
  let server: ServerProcess | null = null;
  try {
    server = await startServerProcess('tokens', options);
    const { _entities } = await graphql<{ _entities: { licenseToken: { token: string } }[] }>(
      server.url,
      await ctx.token(user),
      `
        query ($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on User {
              licenseToken(ttlSeconds: 3600) {
                token
              }
            }
          }
        }
      `,
      { r: [{ __typename: 'User', id: user }] },
    );
    const { token } = _entities[0].licenseToken;
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', server.url));
    const check = async () => {
      const { payload } = await jwtVerify(token, jwks, { typ: 'license+jwt' });
      return (payload.entitlements as Record<string, unknown>)[FEATURE] !== undefined;
    };
    // The first check fetches the JWKS; every later one uses the cached set.
    if (!(await check())) throw new Error(`the license token of ${user} does not carry ${FEATURE}`);

    await verifyFor(check, WARMUP_SECONDS, CONCURRENCY);
    const throughput = await verifyFor(check, options.duration, CONCURRENCY);
    const latency = await verifyFor(check, LATENCY_SECONDS, 1);
    ctx.log(
      `  offline checks: ${rate(throughput.rate)} with ${CONCURRENCY} in flight; ` +
        `one at a time p50 ${fmt.ms(latency.p50)}, p99 ${fmt.ms(latency.p99)}`,
    );

    const hot = earlier.find((result) => result.name === 'hot' && !result.error)?.data.hasEntitlement as
      LoadResult | undefined;
    const ratio = hot ? throughput.rate / hot.rps : null;
    if (ratio !== null) ctx.log(`  ${fmt.ratio(ratio)} the hot check's ${fmt.rps(hot!.rps)}`);
    const checks: Check[] = [
      {
        measure: `checks per second, one process, ${CONCURRENCY} in flight`,
        value: rate(throughput.rate),
        reference: hot ? `${fmt.rps(hot.rps)} (2. Hot check)` : 'hot check not in this run',
        ratio: ratio === null ? '' : fmt.ratio(ratio),
        target: '',
        met: null,
      },
      {
        measure: 'latency of one check, one at a time: p50 / p99',
        value: `${fmt.ms(latency.p50)} / ${fmt.ms(latency.p99)}`,
        reference: hot ? `${fmt.ms(hot.p50)} / ${fmt.ms(hot.p99)} (under load)` : '',
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'failed checks',
        value: String(throughput.failures + latency.failures),
        reference: '',
        ratio: '',
        target: '0',
        met: throughput.failures + latency.failures === 0,
      },
    ];
    return {
      name: 'tokens',
      title: '6. Offline license token check',
      checks,
      data: { throughput, latency, hotRps: hot?.rps ?? null, ratioToHot: ratio },
      notes: [
        `a license token of \`${user}\` (\`licenseToken(ttlSeconds: 3600)\`, signed by the server with its ` +
          `LICENSE_SIGNING_KEYS) verified with jose's \`jwtVerify\` against \`createRemoteJWKSet\` of the ` +
          `server's \`/.well-known/jwks.json\` (fetched once, then cached), then \`${FEATURE}\` read from its ` +
          `claims; in the bench process, ${CONCURRENCY} checks in flight for ${options.duration} s after ` +
          `${WARMUP_SECONDS} s of warm-up, then one at a time for ${LATENCY_SECONDS} s for the latency. ` +
          `Reference: the hot check (2) of the same run, \`hasEntitlement\` over HTTP against a server.`,
      ],
    };
  } finally {
    await server?.stop();
  }
}

const rate = (value: number) => `${Math.round(value).toLocaleString('en-US')} checks/s`;

/** Runs `check` with `concurrency` in flight for `seconds`; its rate and per-check latency. */
async function verifyFor(
  check: () => Promise<boolean>,
  seconds: number,
  concurrency: number,
): Promise<VerifyRun> {
  const latencies: number[] = [];
  let failures = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const begin = performance.now();
      const ok = await check().catch(() => false);
      latencies.push(performance.now() - begin);
      if (!ok) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const { p50, p99 } = summarize(latencies);
  return { checks: latencies.length, seconds: elapsed, rate: latencies.length / elapsed, p50, p99, failures };
}
