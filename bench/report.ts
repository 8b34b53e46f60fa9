import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import type { ScenarioName } from './options';

/** One line of the table: what was measured, against what, and whether the target is met. */
export interface Check {
  measure: string;
  /** The subgraph's figure. */
  value: string;
  /** The floor's or ceiling's figure (or '' when there is none). */
  reference: string;
  ratio: string;
  target: string;
  /** null: informational, no target. */
  met: boolean | null;
}

export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  checks: Check[];
  /** Everything measured, for results.json. */
  data: Record<string, unknown>;
  notes: string[];
  error?: string;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  mariadb: string;
  redis: string;
  commit: string;
  dirty: boolean;
  date: string;
}

const ROOT = join(__dirname, '..');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(versions: { mariadb: string; redis: string }): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    mariadb: versions.mariadb,
    redis: versions.redis,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain']) !== '',
    date: new Date().toISOString(),
  };
}

const COLUMNS = ['Scenario', 'Measure', 'Subgraph', 'Floor / ceiling', 'Ratio', 'Target', 'Met'];

function rows(results: ScenarioResult[]): string[][] {
  return results.flatMap((result) =>
    result.error
      ? [[result.title, 'FAILED', result.error.split('\n')[0], '', '', '', 'no']]
      : result.checks.map((check) => [
          result.title,
          check.measure,
          check.value,
          check.reference,
          check.ratio,
          check.target,
          check.met === null ? '' : check.met ? 'yes' : 'NO',
        ]),
  );
}

/** The table for a terminal. */
export function textTable(results: ScenarioResult[]): string {
  const all = [COLUMNS, ...rows(results)];
  const widths = COLUMNS.map((_, column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ');
  return [line(COLUMNS), widths.map((width) => '-'.repeat(width)).join('  '), ...all.slice(1).map(line)].join(
    '\n',
  );
}

export function markdownTable(results: ScenarioResult[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows(results).map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

async function prettier(text: string, filepath: string): Promise<string> {
  // Prettier is a dev dependency; its output is what `npm run lint` checks.
  const { format, resolveConfig } = await import('prettier');
  return format(text, { ...(await resolveConfig(filepath)), filepath });
}

export async function writeResultsJson(
  path: string,
  machine: Machine,
  results: ScenarioResult[],
  settings: object,
): Promise<void> {
  const json = JSON.stringify({ machine, settings, scenarios: results }, null, 2);
  writeFileSync(path, await prettier(json, path));
}

const BEGIN = '<!-- bench:begin (written by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:end -->';

/**
 * Writes the run into RESULTS.md between markers, keeping whatever is written around them (the notes on
 * what was changed and what it bought).
 */
export async function writeResultsMarkdown(
  path: string,
  machine: Machine,
  results: ScenarioResult[],
  settings: { duration: number; users: number; logLevel: string; nodeEnv: string },
): Promise<void> {
  const notes = results.flatMap((result) => result.notes.map((note) => `- **${result.title}**: ${note}`));
  const run = [
    BEGIN,
    '',
    `## Latest run (${machine.date.slice(0, 10)})`,
    '',
    `Commit \`${machine.commit}\`${machine.dirty ? ' with uncommitted changes (dirty tree)' : ' (clean tree)'}. ` +
      `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory, ` +
      `Node ${machine.node}, ${machine.platform}, MariaDB ${machine.mariadb}, Redis ${machine.redis}. ` +
      `Load phases of ${settings.duration} s; ${settings.users} users; servers with NODE_ENV=${settings.nodeEnv} and LOG_LEVEL=${settings.logLevel}.`,
    '',
    markdownTable(results),
    '',
    ...(notes.length ? ['How each figure was taken:', '', ...notes, ''] : []),
    END,
  ].join('\n');
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : null;
  let text: string;
  if (existing && existing.includes(BEGIN) && existing.includes(END)) {
    text =
      existing.slice(0, existing.indexOf(BEGIN)) + run + existing.slice(existing.indexOf(END) + END.length);
  } else {
    text = [
      '# Benchmark results',
      '',
      'Written by `npm run bench` (see `bench/README.md`); every figure is a ratio to a floor or ceiling measured',
      'in the same run on the same machine. The section between the markers is replaced on every full run.',
      '',
      run,
      '',
      '## What was changed and what it bought',
      '',
      '(nothing yet)',
      '',
    ].join('\n');
  }
  writeFileSync(path, await prettier(text, path));
}

/** Formatting helpers for the table. */
export const fmt = {
  ms: (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`,
  rps: (value: number) => fmt.rate(value, 'req'),
  rate: (value: number, unit: string) => `${Math.round(value).toLocaleString('en-US')} ${unit}/s`,
  ratio: (value: number) => `${value.toFixed(2)}×`,
  percent: (value: number) => `${(value * 100).toFixed(0)}%`,
  mib: (value: number) => `${value.toFixed(0)} MiB`,
};
