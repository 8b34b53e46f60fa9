import { parseArgs } from 'node:util';

import { loadOrCreateDevKey } from '../auth/dev-keys';
import { parseTtl, signDevToken } from '../auth/dev-tokens';
import { ConfigError, loadConfig } from '../config';

const USAGE =
  'usage: npm run token -- --sub USER_ID [--scope "entitlements:read entitlements:write"] [--ttl 1h]';

/** `npm run token`: prints a JWT signed with the development key, which the server accepts when no IdP is set. */
async function main(): Promise<void> {
  const values = parsedFlags();
  const ttlSeconds = parseTtl(values.ttl);
  if (!values.sub || ttlSeconds === null) fail(USAGE);

  const config = loadConfig();
  if (config.auth.jwksUrl)
    fail('AUTH_JWKS_URL is set: the server verifies tokens of that identity provider only.');
  const key = await loadOrCreateDevKey(config.auth.devKeyFile);
  const token = await signDevToken(key, {
    sub: values.sub,
    scopes: values.scope.split(/\s+/).filter(Boolean),
    ttlSeconds,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  process.stdout.write(`${token}\n`);
}

/** The flags, or one line naming what is wrong with them and the usage. */
function parsedFlags() {
  try {
    return parseArgs({
      options: {
        sub: { type: 'string' },
        scope: { type: 'string', default: '' },
        ttl: { type: 'string', default: '1h' },
      },
    }).values;
  } catch (error) {
    // Node's messages name the flag ("Unknown option '--bogus'", "Option '--sub <value>' argument missing").
    const reason = error instanceof Error ? error.message.split('.')[0] : String(error);
    fail(`${reason}; ${USAGE}`);
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
