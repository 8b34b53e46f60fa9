import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';

import { freePort } from '../support/processes';
import { productionEnv } from './context';
import type { Rung } from './ladder-server';
import type { BenchOptions } from './options';
import { sleep } from './stats';

const ROOT = join(__dirname, '..');
/** USER_HZ of Linux's /proc times (100 on every common build). */
const CLOCK_TICKS_PER_SECOND = 100;

/** A server in its own process, with its output in a log file. */
export interface ChildServer {
  name: string;
  pid: number;
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  logFile: string;
  /** Resident memory (VmRSS) and its peak (VmHWM), in MiB. */
  memory(): { rssMiB: number; hwmMiB: number };
  /** CPU time the process has used so far (user + system), in ms: a cost that holds on a busy machine. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** The subgraph (`node dist/main.js`) in its own process. */
export interface ServerProcess extends ChildServer {
  wsUrl: string;
  /** The server's own gauge `graphql_active_subscriptions` from GET /metrics (null when it has none). */
  activeSubscriptions(): Promise<number | null>;
  /** Forces a full garbage collection over the inspector (only when started with `inspect`). */
  collectGarbage(): Promise<void>;
  /** SQL statements this process has sent so far (counted by bench/count-statements.cjs). */
  statements(): Promise<number>;
  /** A CPU profiler attached over the inspector (only when started with `inspect`). */
  profiler: InspectorProfiler | null;
}

/**
 * Runs the built server (`node dist/main.js`) as its own process, with its output in a log file, and
 * waits until /readyz answers 200.
 */
export async function startServerProcess(
  name: string,
  options: Pick<
    BenchOptions,
    'databaseUrl' | 'redisUrl' | 'logLevel' | 'devKeyFile' | 'nodeEnv' | 'jwksUrl' | 'licenseSigningKeys'
  >,
  extra: { env?: NodeJS.ProcessEnv; inspect?: boolean; redis?: boolean } = {},
): Promise<ServerProcess> {
  const inspectPort = extra.inspect ? await freePort() : null;
  const args = [
    ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    '--require',
    join(__dirname, 'count-statements.cjs'),
    join(ROOT, 'dist', 'main.js'),
  ];
  const { child, server } = await spawnServer(name, args, {
    NODE_ENV: options.nodeEnv,
    ...productionEnv(options),
    DATABASE_URL: options.databaseUrl,
    ...(extra.redis === false ? {} : { REDIS_URL: options.redisUrl }),
    LOG_LEVEL: options.logLevel,
    AUTH_DEV_KEY_FILE: options.devKeyFile,
    SEED_CATALOG: 'false',
    // The fan-out and memory scenarios hold thousands of sockets of one service identity.
    WS_MAX_SOCKETS_PER_IDENTITY: '20000',
    ...extra.env,
  });
  const profiler = inspectPort ? await InspectorProfiler.connect(inspectPort) : null;
  const origin = new URL(server.url).origin;
  return {
    ...server,
    wsUrl: server.url.replace('http://', 'ws://'),
    profiler,
    async activeSubscriptions() {
      const text = await (await fetch(`${origin}/metrics`)).text();
      const match = /^graphql_active_subscriptions (\d+)/m.exec(text);
      return match ? Number(match[1]) : null;
    },
    async collectGarbage() {
      if (!profiler) throw new Error(`server ${name} was not started with the inspector`);
      await profiler.call('HeapProfiler.collectGarbage');
    },
    statements() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`server ${name} did not report its statements`)),
          5000,
        );
        child.once('message', (message: { statements: number }) => {
          clearTimeout(timer);
          resolve(message.statements);
        });
        child.send('statements');
      });
    },
    async stop() {
      profiler?.close();
      await server.stop();
    },
  };
}

/**
 * Runs a rung of the ladder (bench/ladder-server.ts) as its own process, verifying tokens against the JWKS,
 * issuer and audience in `auth` (AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, as the subgraph reads them).
 */
export async function startLadderServer(
  rung: Rung,
  nodeEnv: BenchOptions['nodeEnv'],
  auth: NodeJS.ProcessEnv,
): Promise<ChildServer> {
  const args = ['--require', '@swc-node/register', join(__dirname, 'ladder-server.ts'), rung];
  const { server } = await spawnServer(`ladder-${rung}`, args, { NODE_ENV: nodeEnv, ...auth });
  return server;
}

/** Starts `node ...args` on a free PORT, with its output in a log file, and waits until /readyz answers 200. */
async function spawnServer(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; server: ChildServer }> {
  const port = await freePort();
  const logFile = join(tmpdir(), `entitlements-bench-${name}-${process.pid}.log`);
  const out = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const output = () => readFileSync(logFile, 'utf8');

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server ${name} exited early:\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server ${name} not ready after 60 s:\n${output()}`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((response) => response.status === 200)
      .catch(() => false);
    if (ready) break;
    await sleep(100);
  }

  const server: ChildServer = {
    name,
    pid: child.pid as number,
    url: `http://127.0.0.1:${port}/graphql`,
    logFile,
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
    },
    cpuMs() {
      // Fields 14 and 15 of /proc/PID/stat, after the command name (which may hold spaces), in clock ticks.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const [utime, stime] = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .slice(11, 13)
        .map(Number);
      return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
    },
    stop,
  };
  return { child, server };
}

/** Starts and stops V8's sampling profiler in another Node process, over the inspector protocol. */
export class InspectorProfiler {
  private nextId = 1;
  private readonly pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message);
    });
  }

  static async connect(port: number): Promise<InspectorProfiler> {
    const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const profiler = new InspectorProfiler(socket);
    await profiler.call('Profiler.enable');
    await profiler.call('Profiler.setSamplingInterval', { interval: 100 });
    return profiler;
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => {
        this.pending.delete(id);
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve(message.result);
      });
    });
  }

  async start(): Promise<void> {
    await this.call('Profiler.start');
  }

  /** The profile recorded since start(), in the .cpuprofile format. */
  async stop(): Promise<object> {
    const { profile } = (await this.call('Profiler.stop')) as { profile: object };
    return profile;
  }

  close(): void {
    this.socket.close();
  }
}

/** Until each replica's own gauge shows at least `each` active subscriptions (30 s at most). */
export async function waitForSubscriptions(replicas: ServerProcess[], each: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const counts = await Promise.all(replicas.map((replica) => replica.activeSubscriptions()));
    if (counts.every((count) => count === null || count >= each)) return;
    await sleep(100);
  }
}

/** Statements per second a server sends while idle (event feed, expiry sweeper, webhook queue). */
export async function idleStatementRate(server: ServerProcess, ms = 2000): Promise<number> {
  const before = await server.statements();
  const start = Date.now();
  await sleep(ms);
  return ((await server.statements()) - before) / ((Date.now() - start) / 1000);
}
