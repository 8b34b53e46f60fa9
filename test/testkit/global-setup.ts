import { loadOrCreateDevKey } from '../../src/auth/dev-keys';
import { createWorkerDatabases, TEST_DEV_KEY_FILE } from './workers';

/** Before any worker starts: each worker's MySQL database, and the one signing key every worker reads. */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  if (url?.startsWith('mysql://')) await createWorkerDatabases(url, globalConfig.maxWorkers);
  // Created here, workers never read the file while another worker is writing it.
  await loadOrCreateDevKey(TEST_DEV_KEY_FILE);
}
