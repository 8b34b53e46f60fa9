import type { Database } from '../db/database';
import type { EventNotifier } from '../events';
import type { Handler } from './http-routes';
import { sendJson } from './http-routes';

const READINESS_TIMEOUT_MS = 2000;

/**
 * /healthz: the process runs. /readyz: the database, and Redis when configured, answer within a short
 * timeout; a 503 names what is down. A replica that is shutting down is not ready either.
 */
export function healthRoutes(
  db: Database,
  notifier: EventNotifier,
  checkRedis: boolean,
  isStopping: () => boolean,
): Record<string, Handler> {
  return {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      if (isStopping()) return sendJson(res, 503, { status: 'shutting down' });
      const [database, redis] = await Promise.all([
        answersWithin(() => db.dataSource.query('SELECT 1'), READINESS_TIMEOUT_MS),
        checkRedis ? answersWithin(() => notifier.ready(), READINESS_TIMEOUT_MS) : Promise.resolve(undefined),
      ]);
      const checks = checkRedis ? { database, redis } : { database };
      const ready = Object.values(checks).every(Boolean);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    },
  };
}

async function answersWithin(probe: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      // A probe that answers `false` (Redis reconnecting) is down as well.
      probe().then(
        (answer) => answer !== false,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
