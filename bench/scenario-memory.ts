import type { BenchContext } from './context';
import { graphql } from './context';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess } from './server-process';
import { MEMORY_USERS } from './setup';
import type { Subscriber } from './sockets';
import { closeAll, openSubscribers } from './sockets';
import { round, sleep, waitUntil } from './stats';

const SUBSCRIPTIONS = 10_000;
const LAYOUTS = [
  { sockets: 10_000, perSocket: 1 },
  { sockets: 100, perSocket: 100 },
];
const SUBSCRIPTION =
  'subscription Revoked($u: ID) { entitlementRevoked(userId: $u) { id type user { id } } }';
const SETTLE_MS = 3000;

interface LayoutResult {
  sockets: number;
  perSocket: number;
  baselineMiB: number;
  idleMiB: number;
  afterGcMiB: number;
  peakMiB: number;
  /** graphql_active_subscriptions when memory was read (null: the server has no such gauge). */
  established: number | null;
  perSubscriptionKiB: number;
  received: number;
  deliveryMs: number | null;
  openSeconds: number;
}

/** Waits until the server reports `count` active subscriptions (or 60 s); returns its last report. */
async function waitForSubscriptions(server: ServerProcess, count: number): Promise<number | null> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const active = await server.activeSubscriptions();
    if (active === null || active >= count || Date.now() > deadline) return active;
    await sleep(200);
  }
}

/** Median of three VmRSS readings, 250 ms apart. */
async function steadyRss(server: ServerProcess): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    readings.push(server.memory().rssMiB);
    await sleep(250);
  }
  return readings.sort((a, b) => a - b)[1];
}

async function measureLayout(
  ctx: BenchContext,
  layout: { sockets: number; perSocket: number },
  userId: string,
): Promise<LayoutResult> {
  const { options } = ctx;
  const admin = await ctx.token('bench-admin', ['entitlements:read', 'entitlements:write']);
  const watcher = await ctx.token('bench-watcher', ['entitlements:read']);
  // The inspector is only used to force a garbage collection for the second reading.
  const server = await startServerProcess(`memory-${layout.sockets}x${layout.perSocket}`, options, {
    inspect: true,
  });
  let subscribers: Subscriber[] = [];
  try {
    // Baseline: a started replica that has served some requests and one subscription.
    for (let i = 0; i < 20; i += 1) await graphql(server.url, admin, '{ tiers { key } }');
    const [warm] = await openSubscribers([server.wsUrl], watcher, 1);
    warm.subscribe(SUBSCRIPTION, { u: 'nobody' }, () => undefined);
    await sleep(200);
    await warm.close();
    await sleep(SETTLE_MS);
    const baselineMiB = await steadyRss(server);

    const started = Date.now();
    subscribers = await openSubscribers([server.wsUrl], watcher, layout.sockets, 200);
    let received = 0;
    let lastAt = 0;
    for (const subscriber of subscribers) {
      for (let i = 0; i < layout.perSocket; i += 1) {
        subscriber.subscribe(SUBSCRIPTION, { u: userId }, () => {
          received += 1;
          lastAt = performance.now();
        });
      }
    }
    // Every subscription must be set up on the server (its own gauge) before memory is read.
    const established = await waitForSubscriptions(server, SUBSCRIPTIONS);
    const openSeconds = (Date.now() - started) / 1000;
    await sleep(SETTLE_MS);
    const idleMiB = await steadyRss(server);
    const peakMiB = server.memory().hwmMiB;
    await server.collectGarbage();
    await sleep(500);
    const afterGcMiB = await steadyRss(server);
    ctx.log(
      `  ${layout.sockets} sockets × ${layout.perSocket}: baseline ${fmt.mib(baselineMiB)}, ` +
        `idle ${fmt.mib(idleMiB)}, after a full GC ${fmt.mib(afterGcMiB)} (peak ${fmt.mib(peakMiB)}; ` +
        `${established ?? '?'} subscriptions on the server after ${openSeconds.toFixed(1)} s)`,
    );

    // Proof that the subscriptions were live: one revocation reaches every one of them.
    const sent = performance.now();
    await graphql(
      server.url,
      admin,
      'mutation ($u: ID!) { revokeLicense(userId: $u, reason: "bench") { id } }',
      {
        u: userId,
      },
    );
    await waitUntil(() => received >= SUBSCRIPTIONS, 60_000, 50);
    const errors = subscribers.reduce((sum, subscriber) => sum + subscriber.errors.length, 0);
    if (errors > 0) ctx.log(`  warning: ${errors} subscription errors`);
    return {
      ...layout,
      baselineMiB,
      idleMiB,
      afterGcMiB,
      peakMiB,
      established,
      perSubscriptionKiB: ((idleMiB - baselineMiB) * 1024) / SUBSCRIPTIONS,
      received,
      deliveryMs: received >= SUBSCRIPTIONS ? lastAt - sent : null,
      openSeconds,
    };
  } finally {
    await closeAll(subscribers);
    await server.stop();
  }
}

/**
 * Scenario 5: resident memory (VmRSS) of one replica holding 10,000 idle subscriptions, opened as 10,000
 * sockets with one subscription each (the target), and as 100 sockets with 100 each (for comparison).
 */
export async function runMemory(ctx: BenchContext): Promise<ScenarioResult> {
  const results: LayoutResult[] = [];
  for (const [index, layout] of LAYOUTS.entries()) {
    results.push(await measureLayout(ctx, layout, MEMORY_USERS[index]));
  }
  const [sockets, multiplexed] = results;
  const checks: Check[] = [
    {
      measure: '10,000 sockets × 1 subscription: RSS idle',
      value: fmt.mib(sockets.idleMiB),
      reference: `${fmt.mib(sockets.baselineMiB)} before`,
      ratio: `${sockets.perSubscriptionKiB.toFixed(1)} KiB/sub`,
      target: '≤ 300 MB',
      met: sockets.idleMiB * 1.048576 <= 300,
    },
    {
      measure: '10,000 sockets × 1: RSS after a forced full GC',
      value: fmt.mib(sockets.afterGcMiB),
      reference: `${fmt.mib(sockets.baselineMiB)} before`,
      ratio: `${(((sockets.afterGcMiB - sockets.baselineMiB) * 1024) / SUBSCRIPTIONS).toFixed(1)} KiB/sub`,
      target: '',
      met: null,
    },
    {
      measure: '100 sockets × 100 subscriptions: RSS idle',
      value: fmt.mib(multiplexed.idleMiB),
      reference: `${fmt.mib(multiplexed.baselineMiB)} before`,
      ratio: `${multiplexed.perSubscriptionKiB.toFixed(1)} KiB/sub`,
      target: '',
      met: null,
    },
    {
      measure: 'all live: one revocation received by',
      value: results.map((r) => `${r.received}`).join(' / '),
      reference: '',
      ratio: '',
      target: `${SUBSCRIPTIONS.toLocaleString('en-US')} each`,
      met: results.every(
        (r) => r.received === SUBSCRIPTIONS && (r.established ?? SUBSCRIPTIONS) >= SUBSCRIPTIONS,
      ),
    },
  ];
  return {
    name: 'memory',
    title: '5. Memory',
    checks,
    data: {
      subscriptions: SUBSCRIPTIONS,
      layouts: results.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([key, value]) => [key, typeof value === 'number' ? round(value, 1) : value]),
        ),
      ),
    },
    notes: [
      `a fresh \`node dist/main.js\` replica (REDIS_URL set) per layout; baseline = VmRSS after 20 queries and ` +
        `one subscription opened and closed, ${SETTLE_MS / 1000} s idle; then ${SUBSCRIPTIONS.toLocaleString('en-US')} ` +
        `\`entitlementRevoked(userId)\` subscriptions (entitlements:read token, one user per layout); once the server's ` +
        `\`graphql_active_subscriptions\` gauge shows all of them, ${SETTLE_MS / 1000} s idle, VmRSS read from ` +
        `/proc/PID/status (median of 3), then again after a full GC forced over the inspector; afterwards one revokeLicense must ` +
        `reach all of them (delivery to all: ${results.map((r) => (r.deliveryMs === null ? 'incomplete' : fmt.ms(r.deliveryMs))).join(' / ')}). ` +
        `300 MB = 286 MiB.`,
    ],
  };
}
