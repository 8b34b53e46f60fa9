import type { BenchContext } from './context';
import type { TimedPush } from './push-timing';
import { redisFloor, sinceAnswer, sinceSend } from './push-timing';
import type { Check, ScenarioResult } from './report';
import { fmt } from './report';
import type { ServerProcess } from './server-process';
import { startServerProcess, waitForSubscriptions } from './server-process';
import { FANOUT_ORGANIZATION, ORGANIZATION_TIERS } from './setup-organizations';
import type { Subscriber } from './sockets';
import { closeAll, openSubscriber } from './sockets';
import { mapLimit, now, round, sleep, summarize, waitUntil } from './stats';

/** Untimed rounds first: they prove every subscription live and warm both replicas up (JIT). */
const WARMUP_ROUNDS = 5;
const ROUNDS = 20;
const WAIT_MS = 5000;
const IDLE_MS = 3000;
/** Each seat holder's own stream: with a user's token and no userId, its events and its organizations'. */
const SUBSCRIPTION =
  'subscription { entitlementRevoked { id type organization { id } fromTier { key } toTier { key } } }';
/** Only the id back: anything read after the commit would hold the response behind the replica's own deliveries. */
const SET_LICENSE =
  'mutation Set($input: OrganizationLicenseInput!) { setOrganizationLicense(input: $input) { id } }';

interface Round extends TimedPush {
  /** Receipts by seat holder (index of its socket), and the events received (id and tier). */
  bySubscriber: Map<number, number>;
  eventIds: Set<string>;
}

/**
 * Scenario 7 (issue 15): an organization whose 1,000 seat holders each follow `entitlementRevoked` with their
 * own token, one socket each, half on each of two replicas that share the database and Redis. Each round
 * downgrades the organization's license (enterprise → pro, one stored event that reduces every seat holder's
 * access) on one replica and, once every seat holder has it, upgrades it back on the other. Each receipt of a
 * downgrade is timed from the mutation's HTTP response.
 */
export async function runOrganization(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const members = ctx.seeded.organizationMembers;
  const admin = await ctx.token('bench-admin', ['entitlements:read', 'entitlements:write']);
  const replicas: ServerProcess[] = [];
  let subscribers: Subscriber[] = [];
  try {
    replicas.push(
      ...(await Promise.all(
        [0, 1].map((i) =>
          startServerProcess(`org-replica-${i}`, options, { inspect: options.profile && i === 0 }),
        ),
      )),
    );
    const tokens = await Promise.all(members.map((member) => ctx.token(member)));
    subscribers = await mapLimit(tokens, 100, (token, i) =>
      openSubscriber(replicas[i % replicas.length].wsUrl, token),
    );

    let current: Round | null = null;
    subscribers.forEach((subscriber, index) => {
      subscriber.subscribe(SUBSCRIPTION, {}, (data) => {
        const at = now();
        if (!current) return;
        current.receipts.push(at);
        current.bySubscriber.set(index, (current.bySubscriber.get(index) ?? 0) + 1);
        const event = (data as { entitlementRevoked: { id: string; toTier: { key: string } | null } })
          .entitlementRevoked;
        // The event id, and its tier: every receipt of a round must be that round's downgrade.
        current.eventIds.add(`${event.id} to ${event.toTier?.key ?? 'none'}`);
      });
    });
    await waitForSubscriptions(replicas, members.length / replicas.length);
    await sleep(500);

    const setTier = async (replica: ServerProcess, tier: string) => {
      const response = await fetch(replica.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({
          query: SET_LICENSE,
          variables: { input: { organizationId: FANOUT_ORGANIZATION, tier, reason: 'bench' } },
        }),
      });
      const body = await response.text();
      if (response.status !== 200 || body.includes('"errors"'))
        throw new Error(`setOrganizationLicense failed: ${body.slice(0, 300)}`);
    };
    const [higher, lower] = ORGANIZATION_TIERS;
    /** One downgrade, timed, then the upgrade back on the other replica (not on entitlementRevoked). */
    const downgradeAndBack = async (index: number): Promise<Round> => {
      const downgrade: Round = {
        sent: 0,
        answered: 0,
        receipts: [],
        bySubscriber: new Map(),
        eventIds: new Set(),
      };
      current = downgrade;
      downgrade.sent = now();
      await setTier(replicas[index % 2], lower);
      downgrade.answered = now();
      await waitUntil(() => downgrade.bySubscriber.size >= members.length, WAIT_MS);
      await setTier(replicas[(index + 1) % 2], higher);
      // The upgrade reaches both feeds before the next downgrade, so rounds do not overlap.
      await sleep(300);
      return downgrade;
    };

    const warmup: Round[] = [];
    for (let i = 0; i < WARMUP_ROUNDS; i += 1) warmup.push(await downgradeAndBack(i));
    const warmupServed = Math.min(...warmup.map((r) => r.bySubscriber.size));
    if (warmupServed < members.length)
      ctx.log(
        `  warning: only ${warmupServed} of ${members.length} seat holders got every warm-up downgrade`,
      );
    const measured: Round[] = [];
    await replicas[0].profiler?.start();
    // CPU time, unlike latency, holds on a busy machine: what a round costs each process, less what the
    // same wall time costs it idle (event feed polls, expiry sweeps, webhook queue, socket keep-alives).
    const cpuNow = () => [...replicas.map((replica) => replica.cpuMs()), benchCpuMs()];
    const idleStart = { cpu: cpuNow(), at: now() };
    await sleep(IDLE_MS);
    const idle = { cpu: cpuNow(), at: now() };
    const idlePerMs = idle.cpu.map((ms, i) => (ms - idleStart.cpu[i]) / (idle.at - idleStart.at));
    for (let i = 0; i < ROUNDS; i += 1) measured.push(await downgradeAndBack(i));
    const rounds = { cpu: cpuNow(), at: now() };
    const cpuPerRound = rounds.cpu.map(
      (ms, i) => (ms - idle.cpu[i] - idlePerMs[i] * (rounds.at - idle.at)) / ROUNDS,
    );
    if (replicas[0].profiler) ctx.saveProfile('org-replica-0', await replicas[0].profiler.stop());
    current = null;
    const subscriptionErrors = subscribers.reduce((sum, subscriber) => sum + subscriber.errors.length, 0);

    await closeAll(subscribers);
    subscribers = [];
    // Floor: the same number of receipts by raw Redis pub/sub in this process, timed the same way.
    const floor = summarize(sinceAnswer(await redisFloor(options.redisUrl, members.length, ROUNDS, ctx.log)));

    const latency = summarize(sinceAnswer(measured));
    const fromSend = summarize(sinceSend(measured));
    const roundTrip = summarize(measured.map((r) => r.answered - r.sent));
    const served = measured.map((r) => r.bySubscriber.size);
    const duplicates = measured.reduce((sum, r) => sum + r.receipts.length - r.bySubscriber.size, 0);
    const oneEventEach = measured.every(
      (r) => r.eventIds.size === 1 && [...r.eventIds][0].endsWith(` to ${lower}`),
    );
    const allServed =
      served.every((count) => count === members.length) &&
      duplicates === 0 &&
      oneEventEach &&
      subscriptionErrors === 0;
    ctx.log(
      `  organization downgrade: p50 ${fmt.ms(latency.p50)}, p95 ${fmt.ms(latency.p95)}, ` +
        `p99 ${fmt.ms(latency.p99)}, max ${fmt.ms(latency.max)}; served ${served.join('/')}`,
    );

    const checks: Check[] = [
      {
        measure: `p99 response → receipt, ${members.length} seat holders`,
        value: fmt.ms(latency.p99),
        reference: fmt.ms(floor.p99),
        ratio: fmt.ratio(latency.p99 / floor.p99),
        target: '≤ 100 ms',
        met: latency.p99 <= 100,
      },
      {
        measure: 'p50 / p95 / max response → receipt',
        value: `${fmt.ms(latency.p50)} / ${fmt.ms(latency.p95)} / ${fmt.ms(latency.max)}`,
        reference: `${fmt.ms(floor.p50)} / ${fmt.ms(floor.p95)} / ${fmt.ms(floor.max)}`,
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: `seat holders served once, ${ROUNDS} downgrades`,
        value: `${served.every((count) => count === members.length) ? `${ROUNDS} × ${members.length}` : served.join(', ')}${duplicates ? `; ${duplicates} duplicates` : ''}`,
        reference: '',
        ratio: '',
        target: `all ${members.length}, once`,
        met: allServed,
      },
      {
        measure: 'CPU per round beyond idle: replica 0 / 1 / bench',
        value: cpuPerRound.map((ms) => fmt.ms(ms)).join(' / '),
        reference: '',
        ratio: '',
        target: '',
        met: null,
      },
      {
        measure: 'mutation round trip / p99 send → receipt',
        value: `${fmt.ms(roundTrip.p50)} / ${fmt.ms(fromSend.p99)}`,
        reference: '',
        ratio: '',
        target: '',
        met: null,
      },
    ];
    const rounded = (stats: ReturnType<typeof summarize>) =>
      Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value, 3)]));
    return {
      name: 'org',
      title: '7. Organization downgrade',
      checks,
      data: {
        seatHolders: members.length,
        rounds: ROUNDS,
        servedPerRound: served,
        warmupServed: warmup.map((r) => r.bySubscriber.size),
        duplicates,
        subscriptionErrors,
        responseToReceiptMs: rounded(latency),
        sendToReceiptMs: rounded(fromSend),
        mutationRoundTripMs: rounded(roundTrip),
        floor: { responseToReceiptMs: rounded(floor) },
        cpuMsPerRound: {
          replicas: cpuPerRound.slice(0, 2).map((ms) => round(ms, 1)),
          bench: round(cpuPerRound[2], 1),
          idleMsPerSecond: idlePerMs.map((ms) => round(ms * 1000, 1)),
        },
        perRound: measured.map((r) => ({
          roundTripMs: round(r.answered - r.sent, 1),
          lastReceiptFromSendMs: round(Math.max(...r.receipts) - r.sent, 1),
        })),
      },
      notes: [
        `two \`node dist/main.js\` replicas on the bench database and REDIS_URL; organization \`${FANOUT_ORGANIZATION}\` ` +
          `with ${members.length} seats, each seat holder on its own graphql-ws socket (${members.length / 2} per ` +
          `replica) subscribed to \`entitlementRevoked\` with its own token (no userId: its own events and those of ` +
          `its organizations); ${ROUNDS} rounds after ${WARMUP_ROUNDS} untimed ones (which prove every subscription ` +
          `live and warm the replicas up), each a \`setOrganizationLicense\` from ` +
          `${higher} to ${lower} (one ORGANIZATION_LICENSE_CHANGED event, a downgrade) alternately on each replica, ` +
          `and once every seat holder has it, back to ${higher} on the other replica, 300 ms before the next round; ` +
          `latency = receipt in the bench process − arrival of the downgrade's HTTP response. The mutation selects ` +
          `only \`id\`, so that it answers at its commit (a read after the commit would wait behind that replica's ` +
          `own ${members.length / 2} deliveries on the event loop, and receipts would come before the response). ` +
          `Unlike scenario 4 (one user's event, executed once for all its subscribers), every seat holder is ` +
          `another caller, so each executes its own payload. Floor: ${members.length} ioredis ` +
          `connections SUBSCRIBEd to one channel and one PUBLISH per round, timed from the PUBLISH reply. CPU per ` +
          `round: user + system time of each replica (/proc/PID/stat) and of the bench process (which holds the ` +
          `${members.length} client sockets) over the measured rounds, less their idle rate (measured over ` +
          `${IDLE_MS / 1000} s just before) over the same time, divided by the rounds; a round is one downgrade and ` +
          `one upgrade (each replica takes one of the two).`,
      ],
    };
  } finally {
    await closeAll(subscribers);
    await Promise.all(replicas.map((replica) => replica.stop()));
  }
}

/** CPU time of this process (user + system), in ms. */
function benchCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
