import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { waitUntil } from './wait';
import { TEST_DEV_KEY_FILE } from './workers';

const ROOT = join(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Runs `src/main.ts` as its own Node process (TypeScript compiled on the fly by swc), as `user` when given. */
export function spawnServer(
  env: NodeJS.ProcessEnv,
  user: { uid?: number; gid?: number } = {},
): ServerProcess {
  return spawnNode(
    ['-r', '@swc-node/register', join(ROOT, 'src', 'main.ts')],
    { PORT: '0', LOG_LEVEL: 'info', AUTH_DEV_KEY_FILE: TEST_DEV_KEY_FILE, ...env },
    user,
  );
}

/** Runs `node ARGS` in the repository's root with `env` (and PATH) as its whole environment. */
export function spawnNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  user: { uid?: number; gid?: number } = {},
): ServerProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until the process logs that it serves, or fails with its output when it exits first. */
export async function waitUntilReady(server: ServerProcess, timeoutMs = 30_000): Promise<string> {
  let url: string | undefined;
  await waitUntil(
    () => {
      url = /"url":"(http:\/\/[^"]+)"/.exec(server.output())?.[1];
      if (!url && server.child.exitCode !== null) throw new Error(`server exited early:\n${server.output()}`);
      return url !== undefined;
    },
    { timeoutMs, intervalMs: 100, what: () => `the server to be ready; its output:\n${server.output()}` },
  );
  return url as string;
}

/** Waits until `url` answers 2xx, or fails with the process's output when it exits first. */
export async function waitUntilAnswers(
  server: ServerProcess,
  url: string,
  { headers = {}, timeoutMs = 30_000 }: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<void> {
  await waitUntil(
    async () => {
      if (server.child.exitCode !== null) throw new Error(`process exited early:\n${server.output()}`);
      return fetch(url, { headers }).then(
        (response) => response.ok,
        () => false,
      );
    },
    { timeoutMs, intervalMs: 100, what: () => `${url} to answer; the process's output:\n${server.output()}` },
  );
}
