// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, by
// inclusive time, and self time grouped by where the code lives (our src/, a package, node
// internals, GC). Also usable alone: `node --import tsx scripts/bench/cpuprofile.ts FILE`.
import fs from 'node:fs';
import path from 'node:path';
import { root } from './lib.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (!url) return '';
  let p = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  if (p.startsWith(root + '/')) p = p.slice(root.length + 1);
  const nm = p.indexOf('/node_modules/');
  return nm >= 0 ? p.slice(nm + 1) : p;
}

/** Where code lives: src/<dir>, a package name, node:internal, or a V8 pseudo-frame. */
function group(frame: CallFrame): string {
  const p = where(frame.url);
  if (!p) return frame.functionName.startsWith('(') ? frame.functionName : '(native/builtin)';
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (p.startsWith('node:')) return 'node internals';
  if (p.startsWith('src/') || p.startsWith('test/') || p.startsWith('bin/')) return p;
  return p;
}

// tsx hands V8 its output on one line, so line numbers are only shown when they mean something.
const label = (f: CallFrame) => {
  const p = where(f.url);
  return `${f.functionName || '(anonymous)'}${p ? ` ${p}${f.lineNumber > 0 ? `:${f.lineNumber + 1}` : ''}` : ''}`;
};
const isOurs = (f: CallFrame) => /^(src|bin)\//.test(where(f.url));

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  self: Array<{ name: string; ms: number }>;
  inclusive: Array<{ name: string; ms: number }>;
  groups: Array<{ name: string; ms: number }>;
  /** Time below our code, by the first library/runtime function our code called and from where. */
  calls: Array<{ name: string; ms: number }>;
}

/**
 * `window`, in microseconds of the monotonic clock (process.hrtime in any process on the same
 * machine, which is V8's profile clock on Linux), keeps only the samples taken inside it.
 */
export function summarise(file: string, top = 25, window?: { start: number; end: number }): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const groups = new Map<string, number>();
  const calls = new Map<string, number>();
  let idle = 0;
  let total = 0;
  let at = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    at += prof.timeDeltas[i] ?? 0;
    if (window && (at < window.start || at > window.end)) continue;
    const ms = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const leaf = byId.get(prof.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const l = label(leaf.callFrame);
    self.set(l, (self.get(l) ?? 0) + ms);
    const g = group(leaf.callFrame);
    groups.set(g, (groups.get(g) ?? 0) + ms);
    const seen = new Set<string>();
    let below: CallFrame | undefined;
    let edge: string | undefined;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      // The deepest frame of our code on the stack, and what it called into.
      if (!edge && isOurs(frame)) edge = below && !isOurs(below) ? `${label(below)}  <-  ${frame.functionName || '(anonymous)'} ${where(frame.url)}` : `(own code) ${label(frame)}`;
      below = frame;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      incl.set(name, (incl.get(name) ?? 0) + ms);
    }
    if (edge) calls.set(edge, (calls.get(edge) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({ name, ms }));
  return {
    totalMs: total,
    idleMs: idle,
    busyMs: total - idle,
    self: sorted(self, top),
    // Inclusive time of our own code (and the request entry points), the useful "where does a request go".
    inclusive: sorted(new Map([...incl].filter(([k]) => / src\//.test(k))), top),
    groups: sorted(groups, top),
    calls: sorted(calls, top),
  };
}

/** One line per entry: its share of the summary's busy time, its ms and its name. */
export function formatRows(s: ProfileSummary, rows: Array<{ name: string; ms: number }>): string[] {
  return rows.map((r) => `  ${((100 * r.ms) / s.busyMs).toFixed(1).padStart(5)}% ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`);
}

export function formatSummary(s: ProfileSummary): string {
  const sections: Array<[string, ProfileSummary['self']]> = [
    ['top self time (function, file:line):', s.self],
    ['self time by location:', s.groups],
    ['inclusive time of src/ functions:', s.inclusive],
    ['time below our code, by library/runtime call  <-  the src/ function calling it:', s.calls],
  ];
  const lines = [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s wall, ${(s.busyMs / 1000).toFixed(1)} s on the main thread (${(s.idleMs / 1000).toFixed(1)} s idle); percentages are of busy time`,
    ...sections.flatMap(([title, rows]) => ['', title, ...formatRows(s, rows)]),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The main thread's profile of process `pid` in DIR, or null. node --cpu-prof writes one profile
 * per thread (tsx's loader runs in a worker): CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
 */
export function mainThreadProfile(dir: string, pid: number | undefined): string | null {
  const f = fs.readdirSync(dir).find((x) => x.endsWith('.cpuprofile') && x.split('.')[3] === String(pid) && x.split('.')[4] === '0');
  return f ? path.join(dir, f) : null;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx scripts/bench/cpuprofile.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(formatSummary(summarise(file, Number(process.argv[3] ?? 25))));
}
