import { computeGrouping, type GroupingOptions } from '../../src/grouping/index.js';

// Micro-benchmark of grouping's worst inputs (docs/SECURITY.md): 1 MB events built to make the
// regexes and globs that read event data slow — long runs that a backtracking pattern rescans from
// every position, 10,000 distinct frames, a fingerprint rule `*a*a*a*a*b` over a 1 MB message.
// Each is parsed and grouped `rounds` times; the figure is the median CPU time (user + system) per
// event. `node dist/bench/micro/hostile-events.js [rounds]`; `npm run bench` runs it as the
// `hostile` phase. Target: < 50 ms per event (before the fix: 7–14 s for the exception-value cases).

export interface HostileCase { name: string; bytes: number; cpuMs: number }
export interface HostileResult { cases: HostileCase[]; worstMs: number; targetMs: number }

export const HOSTILE_TARGET_MS = 50;
const MB = 1_000_000;

function exceptionsOf(value: string): string {
  const n = Math.floor(MB / (value.length + 30));
  return JSON.stringify({ platform: 'python', exception: { values: Array.from({ length: n }, (_, i) => ({ type: `E${i}`, value })) } });
}

function framesOf(n: number, platform: string, tag: string): string {
  const frames = Array.from({ length: n }, (_, i) => ({ function: `${tag}f${i}`, module: `m${i}`, filename: `a/b/c${i}.py`, package: `/usr/lib/lib${i}.so`, lineno: i, in_app: i % 2 === 0 }));
  return JSON.stringify({ platform, exception: { values: [{ type: 'E', value: 'x', stacktrace: { frames } }] } });
}

/** `tag` makes frames distinct per round: a frame seen before costs nothing (compiled-rules.ts caches it). */
export function hostileCases(tag = ''): Array<{ name: string; json: string; options?: GroupingOptions }> {
  return [
    { name: 'exception values: e-mail-like runs', json: exceptionsOf('a'.repeat(8000) + ' x@b') },
    { name: 'exception values: digit runs', json: exceptionsOf('1'.repeat(8000) + ' 1s') },
    { name: 'exception values: a.a.a.… host labels', json: exceptionsOf('a.'.repeat(4000) + 'x') },
    { name: 'exception values: datetime.datetime( ×440', json: exceptionsOf('datetime.datetime('.repeat(440)) },
    { name: '7,000 distinct frames (native)', json: framesOf(7000, 'native', tag) },
    { name: '10,000 distinct frames (python), project rules', json: framesOf(10000, 'python', tag), options: { enhancements: 'stack.function:*a*a*a*a*b -app\nstack.module:**/x/** +app\npath:**/c1*.py -group' } },
    {
      name: '1 MB message, rule message:"*a*a*a*a*b"',
      json: JSON.stringify({ platform: 'python', message: 'a'.repeat(MB - 40) }),
      options: { fingerprintingRules: 'message:"*a*a*a*a*b" -> x' },
    },
    {
      name: '600 exceptions of 40 frames',
      json: JSON.stringify({ platform: 'java', exception: { values: Array.from({ length: 600 }, (_, j) => ({ type: `E${j}`, value: 'a'.repeat(200) + '@', stacktrace: { frames: Array.from({ length: 40 }, (_, i) => ({ function: `${tag}f${i}_${j}`, module: `m${i}` })) } })) } }),
    },
  ];
}

function cpuMs(f: () => void): number {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

export function runHostile(rounds = 5): HostileResult {
  const cases: HostileCase[] = [];
  const rs = Array.from({ length: rounds }, (_, r) => hostileCases(`r${r}`));
  for (let i = 0; i < rs[0]!.length; i++) {
    const c = rs[0]![i]!;
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const x = rs[r]![i]!;
      times.push(cpuMs(() => computeGrouping(JSON.parse(x.json) as Record<string, unknown>, x.options)));
    }
    times.sort((a, b) => a - b);
    cases.push({ name: c.name, bytes: c.json.length, cpuMs: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10 });
  }
  return { cases, worstMs: Math.max(...cases.map((c) => c.cpuMs)), targetMs: HOSTILE_TARGET_MS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runHostile(Number(process.argv[2] ?? 5));
  for (const c of r.cases) console.log(`${String(c.cpuMs).padStart(7)} ms  ${(c.bytes / 1e6).toFixed(2)} MB  ${c.name}`);
  console.log(`worst ${r.worstMs} ms per event (target < ${r.targetMs} ms)`);
}
