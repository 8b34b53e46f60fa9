import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createConnection } from 'mysql2/promise';

import { freePort, killNow } from '../../support/processes';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Whether this machine can run a MariaDB server of the test's own. */
export const canRunOwnMariaDb = existsSync(MARIADBD) && existsSync(INSTALL_DB);

/**
 * A MariaDB server of the test's own, on a spare port with its own data directory, which the test may kill
 * (SIGKILL, as a crash) and start again on the same data.
 */
export class TestMariaDb {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  static async start(database: string): Promise<TestMariaDb> {
    const dataDir = mkdtempSync(join(tmpdir(), 'mariadb-'));
    await promisify(execFile)(INSTALL_DB, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    const server = new TestMariaDb(await freePort(), dataDir);
    await server.start();
    const connection = await createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await connection.query(`CREATE DATABASE \`${database}\``);
    await connection.end();
    return server;
  }

  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${this.dataDir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.dataDir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dataDir, 'mysqld.pid')}`,
        '--user=root',
        '--skip-grant-tables',
        '--innodb-buffer-pool-size=32M',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`mariadbd did not start:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('ready for connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`mariadbd exited:\n${output}`));
      });
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, as with a hung host. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Kills the server the way a crash would (no shutdown, no flush beyond what InnoDB already made durable). */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = null;
    await killNow(child);
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
