import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SCENARIOS = [
  'entities',
  'hot',
  'usage',
  'fanout',
  'memory',
  'tokens',
  'org',
  'usageBatch',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  databaseUrl: string;
  redisUrl: string;
  only: ScenarioName[];
  /** Skip `npm run build` (dist/ must be current). */
  build: boolean;
  /** Seconds of load per measured phase of the autocannon scenarios. */
  duration: number;
  /** Record CPU profiles of the servers (the numbers are then not written). */
  profile: boolean;
  profileDir: string;
  /** Users seeded for scenarios 1 to 3. */
  users: number;
  /** LOG_LEVEL of the server processes. */
  logLevel: string;
  /** Where the development signing key of the bench's servers is kept. */
  devKeyFile: string;
  /** Whether to write bench/results.json and bench/RESULTS.md. */
  write: boolean;
  /**
   * NODE_ENV of the servers. `production` needs a JWKS: the bench then serves its development key's public
   * half on loopback as AUTH_JWKS_URL (set by run.ts).
   */
  nodeEnv: 'development' | 'production';
  jwksUrl: string | undefined;
  /** LICENSE_SIGNING_KEYS of the servers, which production requires (a key made per run, set by run.ts). */
  licenseSigningKeys: string | undefined;
}

const HELP = `npm run bench -- [options]

  --only a,b        scenarios to run: ${SCENARIOS.join(', ')} (default: all)
  --duration S      seconds of load per autocannon phase (default 10)
  --no-build        do not run \`npm run build\` first
  --profile         CPU-profile the server during the measured phases of entities, hot, usage,
                    usageBatch, fanout and org (replica 0 of the last two); the .cpuprofile files and
                    their top functions go to --profile-dir; results are not written
  --profile-dir D   where profiles go (default: $TMPDIR/entitlements-bench-profiles)
  --no-write        print only; do not write bench/results.json and bench/RESULTS.md
  --development     run the servers with NODE_ENV=development (development signing key, slower
                    graphql-js checks); default NODE_ENV=production, as deployed, with tokens verified
                    through a JWKS the bench serves on loopback

Environment: BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/bench; the database is dropped and
recreated), REDIS_URL (default redis://127.0.0.1:6379), BENCH_LOG_LEVEL (server LOG_LEVEL, default info).`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const options: BenchOptions = {
    databaseUrl: env.BENCH_DATABASE_URL || 'mysql://root@127.0.0.1:3306/bench',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    only: [...SCENARIOS],
    build: true,
    duration: 10,
    profile: false,
    profileDir: join(tmpdir(), 'entitlements-bench-profiles'),
    users: 1000,
    logLevel: env.BENCH_LOG_LEVEL || 'info',
    devKeyFile: join(tmpdir(), 'entitlements-bench-dev-key.json'),
    write: true,
    nodeEnv: 'production',
    jwksUrl: undefined,
    licenseSigningKeys: undefined,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--only': {
        const names = value()
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
        if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}\n\n${HELP}`);
        options.only = SCENARIOS.filter((name) => names.includes(name));
        break;
      }
      case '--duration':
        options.duration = Number(value());
        if (!(options.duration > 0)) throw new Error('--duration must be a positive number of seconds');
        break;
      case '--no-build':
        options.build = false;
        break;
      case '--profile':
        options.profile = true;
        options.write = false;
        break;
      case '--profile-dir':
        options.profileDir = value();
        break;
      case '--development':
        options.nodeEnv = 'development';
        break;
      case '--no-write':
        options.write = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${HELP}`);
    }
  }
  return options;
}
