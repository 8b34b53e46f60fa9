/**
 * npm run bench: the hot paths against their floors and ceilings (issue 8). See bench/README.md.
 */
import './node-env';
import 'reflect-metadata';

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';

import { generateSigningKey } from '../src/services/license-keys';
import type { BenchContext } from './context';
import { createContext, serveJwks } from './context';
import type { BenchOptions, ScenarioName } from './options';
import { parseOptions, SCENARIOS } from './options';
import type { ScenarioResult } from './report';
import { describeMachine, textTable, writeResultsJson, writeResultsMarkdown } from './report';
import { runEntities } from './scenario-entities';
import { runFanout } from './scenario-fanout';
import { runHot } from './scenario-hot';
import { runMemory } from './scenario-memory';
import { runOrganization } from './scenario-organization';
import { runTokens } from './scenario-tokens';
import { runUsage } from './scenario-usage';
import { runUsageBatch } from './scenario-usage-batch';
import { mysqlOptions, resetAndSeed } from './setup';

const ROOT = join(__dirname, '..');
const TITLES: Record<ScenarioName, string> = {
  entities: '1. Entity batch',
  hot: '2. Hot check',
  usage: '3. Usage',
  fanout: '4. Revocation fan-out',
  memory: '5. Memory',
  tokens: '6. Offline license token check',
  org: '7. Organization downgrade',
  usageBatch: '8. Usage batch',
};
/** Each scenario sees the results before it (the token check compares itself with the hot check). */
const RUNNERS: Record<
  ScenarioName,
  (ctx: BenchContext, earlier: ScenarioResult[]) => Promise<ScenarioResult>
> = {
  entities: runEntities,
  hot: runHot,
  usage: runUsage,
  fanout: runFanout,
  memory: runMemory,
  tokens: runTokens,
  org: runOrganization,
  usageBatch: runUsageBatch,
};

const log = (message: string) => process.stdout.write(`${message}\n`);

async function versions(options: BenchOptions): Promise<{ mariadb: string; redis: string }> {
  const { database: _database, ...server } = mysqlOptions(options.databaseUrl);
  const connection = await createConnection(server);
  const [rows] = await connection.query('SELECT VERSION() AS version');
  await connection.end();
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('server');
  redis.disconnect();
  return {
    mariadb: (rows as { version: string }[])[0].version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const started = Date.now();
  const machine = describeMachine(await versions(options));
  log(
    `bench: ${options.only.join(', ')} on ${options.databaseUrl} and ${options.redisUrl}; ` +
      `NODE_ENV=${options.nodeEnv}; ${machine.cpus} cores, node ${machine.node}, commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
  );

  if (options.build && options.only.some((name) => name !== 'entities')) {
    log('building (npm run build)...');
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) {
      throw new Error(`npm run build failed; fix it or pass --no-build:\n${build.stdout}${build.stderr}`);
    }
  }

  if (options.nodeEnv === 'production') {
    options.jwksUrl = (await serveJwks(options.devKeyFile)).url;
    options.licenseSigningKeys = JSON.stringify([await generateSigningKey()]);
  }
  log(`resetting and seeding ${options.databaseUrl}...`);
  const seeded = await resetAndSeed(options.databaseUrl, options.users);
  const ctx = createContext(options, seeded);

  const results: ScenarioResult[] = [];
  for (const name of options.only) {
    log(`\n== ${TITLES[name]}`);
    const scenarioStart = Date.now();
    try {
      results.push(await RUNNERS[name](ctx, results));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`  FAILED: ${message}`);
      results.push({ name, title: TITLES[name], checks: [], data: {}, notes: [], error: message });
    }
    log(`  (${((Date.now() - scenarioStart) / 1000).toFixed(1)} s)`);
  }

  log(`\n${textTable(results)}\n`);
  const settings = {
    duration: options.duration,
    users: options.users,
    logLevel: options.logLevel,
    nodeEnv: options.nodeEnv,
    only: options.only,
  };
  if (options.write) {
    await writeResultsJson(join(__dirname, 'results.json'), machine, results, settings);
    log('wrote bench/results.json');
    if (options.only.length === SCENARIOS.length) {
      await writeResultsMarkdown(join(__dirname, 'RESULTS.md'), machine, results, settings);
      log('wrote bench/RESULTS.md');
    } else {
      log('bench/RESULTS.md is written by full runs only');
    }
  }
  if (options.profile) log(`profiles in ${options.profileDir}`);
  log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // Exit code: 0 when every scenario ran (targets missed are reported, not failures of the harness).
  process.exit(results.some((result) => result.error) ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
