import { parseArgs } from 'node:util';

import type { LicenseKeyAlgorithm } from '../services/license-keys';
import { generateSigningKey, LICENSE_KEY_ALGORITHMS } from '../services/license-keys';

const USAGE = `usage: npm run --silent license-key -- [--alg ${LICENSE_KEY_ALGORITHMS.join('|')}]`;

/**
 * `npm run license-key`: prints a new private JWK for LICENSE_SIGNING_KEYS (one element of its array), with
 * its thumbprint as `kid`. See README "License tokens" for rotating keys with it.
 */
async function main(): Promise<void> {
  let alg: string;
  try {
    alg = parseArgs({ options: { alg: { type: 'string', default: 'ES256' } } }).values.alg;
  } catch (error) {
    fail(`${error instanceof Error ? error.message.split('.')[0] : String(error)}; ${USAGE}`);
  }
  if (!(LICENSE_KEY_ALGORITHMS as string[]).includes(alg)) fail(USAGE);
  process.stdout.write(`${JSON.stringify(await generateSigningKey(alg as LicenseKeyAlgorithm))}\n`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
