import { Redis } from 'ioredis';

import { mapLimit, now, sleep, waitUntil } from './stats';

/** One push: when it was sent and answered (performance.now()), and when each receipt arrived. */
export interface TimedPush {
  sent: number;
  answered: number;
  receipts: number[];
}

const WAIT_MS = 5000;

/** Each receipt's delay after its push's answer (the mutation's response, the PUBLISH reply). */
export const sinceAnswer = (pushes: TimedPush[]) =>
  pushes.flatMap((push) => push.receipts.map((at) => at - push.answered));

/** Each receipt's delay after its push was sent. */
export const sinceSend = (pushes: TimedPush[]) =>
  pushes.flatMap((push) => push.receipts.map((at) => at - push.sent));

/**
 * The floor of a push to `count` subscribers: as many ioredis connections in this process SUBSCRIBEd to one
 * channel, and one PUBLISH per round (after an untimed probe), 300 ms apart; each receipt is timed from the
 * PUBLISH reply, as the scenarios time theirs from the mutation's response.
 */
export async function redisFloor(
  redisUrl: string,
  count: number,
  rounds: number,
  log: (message: string) => void,
): Promise<TimedPush[]> {
  const channel = `bench:floor:${process.pid}`;
  const pushes = new Map<string, TimedPush>();
  const subscribers: Redis[] = [];
  const publisher = new Redis(redisUrl);
  try {
    subscribers.push(
      ...(await mapLimit(Array.from({ length: count }), 100, async () => {
        const redis = new Redis(redisUrl, { lazyConnect: true });
        await redis.connect();
        await redis.subscribe(channel);
        redis.on('message', (_channel, message: string) => pushes.get(message)?.receipts.push(now()));
        return redis;
      })),
    );
    const publish = async (key: string): Promise<TimedPush> => {
      const push: TimedPush = { sent: now(), answered: 0, receipts: [] };
      pushes.set(key, push);
      const listeners = await publisher.publish(channel, key);
      push.answered = now();
      if (listeners < count) log(`  warning: PUBLISH reached ${listeners} subscribers`);
      await waitUntil(() => push.receipts.length >= count, WAIT_MS);
      return push;
    };
    await publish('probe');
    const measured: TimedPush[] = [];
    for (let i = 1; i <= rounds; i += 1) {
      await sleep(300);
      measured.push(await publish(`round-${i}`));
    }
    return measured;
  } finally {
    subscribers.forEach((redis) => redis.disconnect());
    publisher.disconnect();
  }
}
