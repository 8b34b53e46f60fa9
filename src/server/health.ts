import { Router } from 'express';

import type { Database } from '../db/database';

const READINESS_TIMEOUT_MS = 2000;

/** /healthz: the process runs. /readyz: the database answers within a short timeout. */
export function healthRoutes(db: Database): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const database = await answersWithin(() => db.dataSource.query('SELECT 1'), READINESS_TIMEOUT_MS);
    res.status(database ? 200 : 503).json({ status: database ? 'ready' : 'not ready', checks: { database } });
  });
  return router;
}

async function answersWithin(probe: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      probe().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
