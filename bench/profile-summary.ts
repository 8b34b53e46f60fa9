/**
 * Aggregates a V8 .cpuprofile by self time: the top functions, and the top files / packages.
 *
 *   node -r @swc-node/register bench/profile-summary.ts PROFILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeEntry {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time, in percent. */
  percent: number;
}

export interface ProfileSummary {
  /** Wall time covered by the profile, ms. */
  totalMs: number;
  /** Time not idle, ms. */
  busyMs: number;
  functions: SelfTimeEntry[];
  files: SelfTimeEntry[];
  /** The project's own functions (dist/, src/) by total time: their own plus everything they call. */
  projectTotals: SelfTimeEntry[];
}

/** Where a frame's code lives: a project file, an npm package, a Node module, or V8 itself. */
export function locationOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith('node:')) return path;
  const project = /\/(dist|src|bench|test)\/(.*)$/.exec(path);
  if (project) return `${project[1]}/${project[2]}`;
  return path;
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas;
  const average = deltas.length ? deltas.reduce((a, b) => a + b, 0) / deltas.length : 0;
  profile.samples.forEach((nodeId, i) => {
    // The time until the next sample is spent where this sample was taken.
    const us = i + 1 < deltas.length ? deltas[i + 1] : average;
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + Math.max(0, us));
  });

  // Total (inclusive) time of the project's own functions: each sample counts once for every distinct
  // project function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const projectTotals = new Map<string, number>();
  for (const [nodeId, us] of selfUs) {
    if ((byId.get(nodeId) as ProfileNode).callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
      const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
      const location = locationOf(url, functionName);
      if (!/^(dist|src)\//.test(location)) continue;
      const name = `${functionName || '(anonymous)'}  ${location}:${lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      projectTotals.set(name, (projectTotals.get(name) ?? 0) + us);
    }
  }

  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let busyUs = 0;
  let totalUs = 0;
  for (const [nodeId, us] of selfUs) {
    const { functionName, url, lineNumber } = (byId.get(nodeId) as ProfileNode).callFrame;
    totalUs += us;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const location = locationOf(url, functionName);
    const name = url
      ? `${functionName || '(anonymous)'}  ${location}:${lineNumber + 1}`
      : functionName || '(anonymous)';
    functions.set(name, (functions.get(name) ?? 0) + us);
    files.set(location, (files.get(location) ?? 0) + us);
  }
  const rank = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: busyUs ? (100 * us) / busyUs : 0 }));
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    functions: rank(functions),
    files: rank(files),
    projectTotals: rank(projectTotals),
  };
}

export function formatSummary(title: string, summary: ProfileSummary): string {
  const line = (entry: SelfTimeEntry) =>
    `  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(7)} ms  ${entry.name}`;
  return [
    `${title}: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms profiled`,
    ' top functions by self time:',
    ...summary.functions.map(line),
    ' top files / packages by self time:',
    ...summary.files.map(line),
    " the project's functions by total time (self + callees):",
    ...summary.projectTotals.map(line),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;
  if (args.length === 0) {
    process.stderr.write('usage: profile-summary.ts PROFILE.cpuprofile... [--top N]\n');
    process.exit(2);
  }
  for (const file of args) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    process.stdout.write(`${formatSummary(file, summarizeProfile(profile, top))}\n\n`);
  }
}
