import type { BenchContext } from './context';
import type { TimedPush } from './push-timing';
import { redisFloor, sinceAnswer, sinceSend } from './push-timing';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess, waitForSubscriptions } from './server-process';
import { FANOUT_USER } from './setup';
import type { Subscriber } from './sockets';
import { closeAll, openSubscribers } from './sockets';
import { now, round, sleep, summarize, waitUntil } from './stats';

const SUBSCRIBERS = 1000;
const REVOCATIONS = 5;
/**
 * Untimed revocations first, three on each replica: they prove every subscription live and warm both replicas
 * up, as scenario 7's rounds do. A replica's first revocations pay for compiling the mutation and delivery paths
 * (a first revokeEntitlement answered in 65 ms, then 12-16 ms), which a replica in service has long done.
 */
const WARMUP_ROUNDS = 6;
const WAIT_MS = 5000;
const SUBSCRIPTION =
  'subscription Revoked($u: ID) { entitlementRevoked(userId: $u) { id type user { id } feature { key } grant { id } } }';
const REVOKE =
  'mutation Revoke($id: ID!) { revokeEntitlement(grantId: $id, reason: "bench") { id revokedAt } }';

/** A revocation: the grant it revokes, and when its mutation was sent, answered and received. */
interface Round extends TimedPush {
  key: string;
}

/**
 * Scenario 4: 1,000 graphql-ws subscribers of one user's `entitlementRevoked`, half on each of two replicas
 * that share the database and Redis; revocations are sent on another connection, alternately to each
 * replica, and each subscriber's receipt is timed from the mutation's HTTP response. Floor: 1,000 Redis
 * subscriber connections and one PUBLISH, timed from the PUBLISH reply, in the same process.
 */
export async function runFanout(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const grants = ctx.seeded.fanoutGrantIds;
  const admin = await ctx.token('bench-admin', ['entitlements:read', 'entitlements:write']);
  const watcher = await ctx.token('bench-watcher', ['entitlements:read']);
  const replicas: ServerProcess[] = [];
  let subscribers: Subscriber[] = [];
  try {
    replicas.push(
      ...(await Promise.all(
        [0, 1].map((i) =>
          startServerProcess(`replica-${i}`, options, { inspect: options.profile && i === 0 }),
        ),
      )),
    );
    subscribers = await openSubscribers(
      replicas.map((replica) => replica.wsUrl),
      watcher,
      SUBSCRIBERS,
    );

    // Subscription rounds: each receipt goes to the round of its grant.
    const rounds = new Map<string, Round>();
    for (const subscriber of subscribers) {
      subscriber.subscribe(SUBSCRIPTION, { u: FANOUT_USER }, (data) => {
        const at = now();
        const grantId = (data as { entitlementRevoked: { grant: { id: string } | null } }).entitlementRevoked
          .grant?.id;
        if (grantId) rounds.get(grantId)?.receipts.push(at);
      });
    }
    // Until each replica reports its share of subscriptions (its own gauge), then a little longer.
    await waitForSubscriptions(replicas, SUBSCRIBERS / replicas.length);
    await sleep(500);

    const revoke = async (index: number): Promise<Round> => {
      const key = grants[index];
      const round: Round = { key, sent: 0, answered: 0, receipts: [] };
      rounds.set(key, round);
      round.sent = now();
      const response = await fetch(replicas[index % 2].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: REVOKE, variables: { id: key } }),
      });
      const body = await response.text();
      round.answered = now();
      if (response.status !== 200 || body.includes('"errors"'))
        throw new Error(`revokeEntitlement failed: ${body.slice(0, 300)}`);
      await waitUntil(() => round.receipts.length >= SUBSCRIBERS, WAIT_MS);
      return round;
    };
    const warmup: Round[] = [];
    for (let i = 0; i < WARMUP_ROUNDS; i += 1) {
      if (i > 0) await sleep(300);
      warmup.push(await revoke(i));
    }
    const warmupServed = Math.min(...warmup.map((r) => r.receipts.length));
    if (warmupServed < SUBSCRIBERS)
      ctx.log(`  warning: only ${warmupServed} of ${SUBSCRIBERS} subscribers got every warm-up revocation`);
    const measured: Round[] = [];
    await replicas[0].profiler?.start();
    for (let i = WARMUP_ROUNDS; i < WARMUP_ROUNDS + REVOCATIONS; i += 1) {
      await sleep(300);
      measured.push(await revoke(i));
    }
    if (replicas[0].profiler) ctx.saveProfile('fanout-replica-0', await replicas[0].profiler.stop());
    const subscriptionErrors = subscribers.reduce((sum, subscriber) => sum + subscriber.errors.length, 0);
    await closeAll(subscribers);
    subscribers = [];

    // Floor: raw Redis pub/sub to as many connections, timed the same way.
    const floorMeasured = await redisFloor(options.redisUrl, SUBSCRIBERS, REVOCATIONS, ctx.log);

    const server = summarize(sinceAnswer(measured));
    const serverFromSend = summarize(sinceSend(measured));
    const floor = summarize(sinceAnswer(floorMeasured));
    const received = measured.map((r) => r.receipts.length);
    const allServed = received.every((count) => count === SUBSCRIBERS) && subscriptionErrors === 0;
    const responseMs = summarize(measured.map((r) => r.answered - r.sent));
    ctx.log(
      `  fan-out: p50 ${fmt.ms(server.p50)}, p99 ${fmt.ms(server.p99)}, max ${fmt.ms(server.max)}; ` +
        `received ${received.join('/')}; floor p99 ${fmt.ms(floor.p99)}`,
    );

    const checks: Check[] = [
      {
        measure: 'p99 response → receipt',
        value: fmt.ms(server.p99),
        reference: fmt.ms(floor.p99),
        ratio: fmt.ratio(server.p99 / floor.p99),
        target: '< 100 ms',
        met: server.p99 < 100,
      },
      {
        measure: 'p50 / max response → receipt',
        value: `${fmt.ms(server.p50)} / ${fmt.ms(server.max)}`,
        reference: `${fmt.ms(floor.p50)} / ${fmt.ms(floor.max)}`,
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: `subscribers served, ${REVOCATIONS} revocations`,
        value: received.map((count) => `${count}`).join(', '),
        reference: floorMeasured.map((r) => `${r.receipts.length}`).join(', '),
        ratio: '',
        target: `all ${SUBSCRIBERS}`,
        met: allServed,
      },
      {
        measure: 'mutation round trip / p99 send → receipt',
        value: `${fmt.ms(responseMs.p50)} / ${fmt.ms(serverFromSend.p99)}`,
        reference: '',
        ratio: '',
        target: '',
        met: null,
      },
    ];
    const rounded = (stats: ReturnType<typeof summarize>) =>
      Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value, 3)]));
    return {
      name: 'fanout',
      title: '4. Revocation fan-out',
      checks,
      data: {
        subscribers: SUBSCRIBERS,
        revocations: REVOCATIONS,
        receivedPerRevocation: received,
        warmupReceived: warmup.map((r) => r.receipts.length),
        subscriptionErrors,
        responseToReceiptMs: rounded(server),
        sendToReceiptMs: rounded(serverFromSend),
        mutationRoundTripMs: rounded(responseMs),
        floor: {
          responseToReceiptMs: rounded(floor),
          receivedPerPublish: floorMeasured.map((r) => r.receipts.length),
        },
      },
      notes: [
        `two \`node dist/main.js\` replicas on the bench database and REDIS_URL (EVENT_POLL_INTERVAL_MS default); ` +
          `${SUBSCRIBERS} graphql-ws sockets (one subscription each, ${SUBSCRIBERS / 2} per replica) of ` +
          `\`entitlementRevoked(userId: "${FANOUT_USER}")\` with an entitlements:read token; ${REVOCATIONS} ` +
          `\`revokeEntitlement\` calls after ${WARMUP_ROUNDS} untimed ones (which prove every subscription live and warm ` +
          `both replicas up), alternately ` +
          `on each replica over fetch, 300 ms apart; latency = receipt in the bench process − arrival of the ` +
          `mutation's HTTP response (negative when the event comes first). Floor: ${SUBSCRIBERS} ioredis ` +
          `connections SUBSCRIBEd to one channel and one PUBLISH, timed from the PUBLISH reply.`,
      ],
    };
  } finally {
    await closeAll(subscribers);
    await Promise.all(replicas.map((replica) => replica.stop()));
  }
}
