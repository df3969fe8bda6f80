import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './options.js';
import type { CeilingResult, IngestResult } from './phase-ingest.js';
import type { DigestResult } from './phase-digest.js';
import type { DefaultResult } from './phase-default.js';
import type { LatencyResult } from './phase-latency.js';
import type { BoxResult } from './phase-box.js';
import type { DiskResult } from './phase-disk.js';
import type { QueryResult } from './phase-query.js';
import type { ProfileResult } from './profile.js';
import type { HostileResult } from './micro/hostile-events.js';

// The results: one table (printed, and written between the markers of BENCHMARKS.md; the rest of
// that file is written by hand) and the full JSON in bench/results/<date>.json.

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; cpuModel: string; node: string; postgres: string; embeddedPostgres: boolean };
  options: Partial<BenchOptions>;
  ceiling: CeilingResult[];
  ingest: IngestResult[];
  digest: DigestResult[];
  /** the default process (ingest + digest), saturated and sustained (bench/phase-default.ts) */
  defaultProcess?: DefaultResult | null;
  /** the default process and its PostgreSQL in a small memory cgroup (bench/phase-box.ts) */
  box?: BoxResult | null;
  latency: LatencyResult | null;
  disk: DiskResult[];
  query: QueryResult | null;
  profile: ProfileResult | null;
  /** grouping CPU per pathological 1 MB event (bench/micro/hostile-events.ts) */
  hostile?: HostileResult | null;
  seconds: number;
  phaseSeconds: Record<string, number>;
  /** set when a phase failed: the results hold the phases before it */
  error?: string;
}

type Verdict = 'ok' | 'MISS' | '';
interface Row {
  what: string;
  measured: string;
  target: string;
  verdict: Verdict;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => `${x} ms`;
const check = (ok: boolean): Verdict => (ok ? 'ok' : 'MISS');
const RSS_TARGET_MB = 100;

export function rows(r: BenchResults): Row[] {
  const out: Row[] = [];
  // CPU in cores, and per event (µs): the per-event cost is what stays comparable when other work
  // on the machine takes a varying share of the cores
  const cpu = (m: { cpu?: { server: number; postgres: number; rest: number; idle: number; generator?: number } }, rate: number) =>
    m.cpu
      ? `; cores: server ${m.cpu.server}, PostgreSQL ${m.cpu.postgres}${m.cpu.generator !== undefined ? `, generator ${m.cpu.generator}` : ''}, rest ${m.cpu.rest}, idle ${m.cpu.idle}` +
        (rate > 0 ? `; CPU/event: server ${n0((m.cpu.server * 1e6) / rate)} µs, PostgreSQL ${n0((m.cpu.postgres * 1e6) / rate)} µs` : '')
      : '';
  // traffic kinds (bench/workload.ts): realistic, and fixed (the old mix) for comparison
  const tr = (t: string | undefined) => (t ? ` (${t} traffic)` : '');
  for (const c of r.ceiling) {
    out.push({ what: `Ceiling, ${c.processes} process${c.processes > 1 ? 'es' : ''}${tr(c.traffic)}`, measured: `${n0(c.rps)} req/s (p50 ${ms(c.latencyMs.p50)}, p99 ${ms(c.latencyMs.p99)}${cpu(c.memory, c.rps)})`, target: '', verdict: '' });
  }
  for (const i of r.ingest) {
    out.push({
      what: `Ingest, ${i.processes} process${i.processes > 1 ? 'es' : ''}${tr(i.traffic)}`,
      measured: `${n0(i.eventsPerSec)} events/s = ${i.ratioToCeiling} × ceiling (p50 ${ms(i.latencyMs.p50)}, p99 ${ms(i.latencyMs.p99)}${i.errors ? `, ${i.errors} errors` : ''}${cpu(i.memory, i.eventsPerSec)})`,
      target: '≥ 0.5 × ceiling',
      verdict: check(i.ratioToCeiling >= 0.5),
    });
  }
  for (const d of r.digest) {
    out.push({
      what: `Digest, ${d.workers} worker process${d.workers > 1 ? 'es' : ''}${d.mix === 'js' ? ' (JS-heavy mix, source maps)' : ''}`,
      measured: `${n0(d.reportsPerSec)} events/s stored as reports, ${n0(d.payloadsPerSec)} payloads/s (${n0(d.backlog)} payloads queued → ${n0(d.newReports)} reports, ${d.seconds} s${d.drained ? '' : ', NOT drained'}${d.failed ? `, ${d.failed} failed` : ''}; ${n0(d.issues)} issues${d.symbolicatedIssues !== undefined ? ` (${n0(d.symbolicatedIssues)} with original frames, ${n0(d.minifiedIssues ?? 0)} minified)` : ''}${d.secondHalfPerSec ? `; second half ${n0(d.secondHalfPerSec)} payloads/s` : ''}${cpu(d.memory, d.reportsPerSec)})`,
      target: '≥ 5,000 events/s',
      verdict: check(d.drained && d.reportsPerSec >= 5000),
    });
  }
  if (r.defaultProcess) {
    const d = r.defaultProcess;
    const s = d.sustained;
    out.push({
      what: `Default process (ingest + digest), sustained${tr(d.traffic)}`,
      measured: `${n0(s.acceptedPerSec)} events/s${d.ratioToCeiling !== null ? ` = ${d.ratioToCeiling} × ceiling` : ''} for ${s.seconds} s, queue ${s.bounded ? 'bounded' : 'NOT bounded'} (at most ${n0(s.queueMax)}, ${n0(s.queueEnd)} at the end; p99 ${ms(s.p99Ms)}${s.errors ? `, ${s.errors} errors` : ''}; tried ${d.tries.map((t) => `${n0(t.rate)}${t.bounded ? '' : ' (grew)'}`).join(', ')}); saturated: ${n0(d.saturated.acceptedPerSec)} events/s accepted, ${n0(d.saturated.carriedPerSec)} digested meanwhile; its backlog drained at ${n0(d.drain.perSec)} payloads/s${cpu(d.memory, 0)}`,
      target: '≥ 0.25 × ceiling, queue bounded',
      verdict: check(s.bounded && (d.ratioToCeiling ?? 0) >= 0.25),
    });
  }
  if (r.box) {
    const b = r.box;
    out.push({
      what: `Small box: default process + its PostgreSQL in ${b.limitMb} MB (memory cgroup), saturated, then drained`,
      measured: b.skipped
        ? `not measured: ${b.skipped}`
        : `${n0(b.acceptedPerSec ?? 0)} events/s accepted (p99 ${ms(b.p99Ms ?? 0)}${b.errors ? `, ${n0(b.errors)} errors` : ''}), drained in ${b.drainSeconds ?? '—'} s; killed for memory: ${b.oomKills}; lost ${b.lost}, left queued or failed ${b.queued}; issue list ${b.apiOk}/50 answered; peak: server ${b.serverHwmMb} MB RSS, all ${b.unreclaimablePeakMb} MB anonymous + shared`,
      target: 'nothing killed, nothing lost',
      verdict: b.skipped ? '' : check(b.ok === true),
    });
  }
  if (r.latency) {
    const l = r.latency;
    out.push({
      what: `Send → visible (${l.via === 'api' ? 'API' : 'report row; no API route yet'})`,
      measured: `p50 ${ms(l.p50Ms)}, p95 ${ms(l.p95Ms)} (${l.probes} probes${l.timedOut ? `, ${l.timedOut} not visible in 15 s` : ''}; background ${l.backgroundRps} events/s)`,
      target: 'p95 < 100 ms',
      verdict: check(l.timedOut === 0 && l.p95Ms < 100),
    });
  }
  const mem = (what: string, peakEachMb: number, extra = '') =>
    out.push({ what: `Memory: ${what}`, measured: `${peakEachMb} MB peak RSS${extra}`, target: `≤ ${RSS_TARGET_MB} MB`, verdict: check(peakEachMb <= RSS_TARGET_MB) });
  for (const i of r.ingest) mem(`ingest, ${i.processes} process${i.processes > 1 ? 'es (each)' : ''}${tr(i.traffic)}`, Math.max(...i.memory.serverHwmMb));
  for (const d of r.digest) mem(`digest, ${d.workers} worker process${d.workers > 1 ? 'es (each)' : ''}${d.mix === 'js' ? ', JS-heavy mix' : ''}`, Math.max(...d.memory.serverHwmMb));
  if (r.defaultProcess) mem(`default process (ingest + digest), saturated and sustained${tr(r.defaultProcess.traffic)}`, Math.max(...r.defaultProcess.memory.serverHwmMb));
  if (r.latency) mem('server + worker, latency phase', Math.max(...r.latency.memory.serverHwmMb));
  if (r.query) mem('server, query phase', Math.max(...r.query.memory.serverHwmMb));
  const pgPeak = [...r.ingest.map((i) => i.memory), ...r.digest.map((d) => d.memory)];
  if (pgPeak.length) {
    const rss = Math.max(...pgPeak.map((m) => m.postgresRssMb));
    const pss = Math.max(...pgPeak.map((m) => m.postgresPssMb));
    out.push({ what: 'Memory: PostgreSQL (all processes)', measured: `${rss} MB summed RSS, ${pss} MB PSS (ingest/digest peak)`, target: '', verdict: '' });
  }
  // 1 KB = 1,000 bytes
  for (const d of r.disk) {
    out.push({
      what: `Disk, ${d.workload === 'repeated' ? 'repeated error' : 'mixed workload'}${tr(d.traffic)}`,
      measured: d.next
        ? `${n0(d.next.bytesPerEvent)} B/event added by the next ${n0(d.next.events)} events (archive ${n0(d.next.archiveBytesPerEvent)}; ${n0(d.next.issues)} new issues); the first ${n0(d.events)}: ${n0(d.bytesPerEvent)} B/event (archive ${n0(d.archiveBytesPerEvent)}; ${n0(d.issues)} issues)`
        : `${n0(d.bytesPerEvent)} B/event (archive ${n0(d.archiveBytesPerEvent)}; ${n0(d.events)} events, ${n0(d.issues)} issues)`,
      target: d.workload === 'repeated' ? '≤ 1,000 B/event' : '≤ 2,500 B/event',
      verdict: check((d.next?.bytesPerEvent ?? d.bytesPerEvent) <= (d.workload === 'repeated' ? 1000 : 2500)),
    });
  }
  if (r.query) {
    const q = r.query;
    if (q.missing) out.push({ what: 'Issue list', measured: `not measured: ${q.missing}`, target: 'p95 < 50 ms', verdict: 'MISS' });
    for (const v of q.variants) {
      out.push({
        what: `Issue list, ${v.name}`,
        measured: v.error && !v.requests ? `refused: ${v.error}` : `p50 ${ms(v.p50Ms)}, p95 ${ms(v.p95Ms)} (${v.requests} pages, ${v.pages} distinct, through cursors; ${n0(q.events)} events, ${n0(q.issues)} issues${v.error ? `; then refused: ${v.error}` : ''})`,
        target: 'p95 < 50 ms',
        verdict: check(!v.error && v.p95Ms < 50),
      });
    }
    for (const v of q.detail ?? []) {
      out.push({
        what: v.name === 'issue detail' ? 'Issue detail (opened from the list pages)' : 'Latest event of an issue (rebuilt from its payload)',
        measured: v.error && !v.requests ? `refused: ${v.error}` : `p50 ${ms(v.p50Ms)}, p95 ${ms(v.p95Ms)} (${v.requests} issues)`,
        target: '',
        verdict: v.error ? 'MISS' : '',
      });
    }
  }
  if (r.hostile) {
    for (const c of r.hostile.cases) out.push({ what: `Grouping CPU, hostile 1 MB event: ${c.name}`, measured: `${c.cpuMs} ms`, target: `< ${r.hostile.targetMs} ms`, verdict: check(c.cpuMs < r.hostile.targetMs) });
  }
  return out;
}

function header(r: BenchResults): string {
  const m = r.machine;
  return `${r.error ? `FAILED (${r.error.split('\n')[0]!.slice(0, 200)}) ` : ''}${r.mode} run of ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.seconds} s; ${m.cpus} × ${m.cpuModel}; Node ${m.node}; PostgreSQL ${m.postgres}${m.embeddedPostgres ? ' (embedded)' : ''}; load generator ${r.ingest[0]?.generator ?? r.options.generator}, ${r.options.connections} connections, ${r.options.senders} sender threads; ${(r.options.traffic ?? ['fixed'])[0]} traffic in every phase${(r.options.traffic?.length ?? 0) > 1 ? `, ${r.options.traffic!.slice(1).join(', ')} too for ingest and disk` : ''}`;
}

export function printTable(r: BenchResults): void {
  const rs = rows(r);
  const w = [Math.max(6, ...rs.map((x) => x.what.length)), Math.max(8, ...rs.map((x) => x.measured.length)), Math.max(6, ...rs.map((x) => x.target.length))];
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0]!)}  ${b.padEnd(w[1]!)}  ${c.padEnd(w[2]!)}  ${d}`;
  console.log(`\ncrash-cache bench: ${header(r)}\n`);
  console.log(line('what', 'measured', 'target', ''));
  console.log(line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!), '----'));
  for (const x of rs) console.log(line(x.what, x.measured, x.target, x.verdict));
  if (r.profile) {
    for (const [name, p] of [['ingest', r.profile.ingest], ['digest worker', r.profile.digest]] as const) {
      if (!p) continue;
      console.log(`\nProfile, ${name} (${p.eventsPerSec} ${name === 'digest worker' ? 'payloads' : 'events'}/s under --cpu-prof; ${p.idlePct}% idle); self time as a share of busy time:`);
      for (const a of p.byArea.slice(0, 8)) console.log(`  ${String(a.selfPct).padStart(5)}%  ${a.area}`);
      console.log('  top functions:');
      for (const t of p.top.slice(0, 12)) console.log(`  ${String(t.selfPct).padStart(5)}%  ${t.fn}  ${t.where}`);
    }
  }
  console.log('');
}

const START = '<!-- bench:results:start (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

export function markdownSection(r: BenchResults, jsonName: string): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    START,
    `_${header(r)}. Full numbers: [bench/results/${jsonName}](bench/results/${jsonName})._`,
    '',
    '| what | measured | target | |',
    '|---|---|---|---|',
    ...rows(r).map((x) => `| ${esc(x.what)} | ${esc(x.measured)} | ${esc(x.target)} | ${x.verdict} |`),
  ];
  if (r.profile) {
    for (const [name, p] of [['ingest, 1 process', r.profile.ingest], ['digest worker', r.profile.digest]] as const) {
      if (!p) continue;
      lines.push('', `Profile of this run, ${name}: ${n0(p.eventsPerSec)} ${name === 'digest worker' ? 'payloads' : 'events'}/s under \`--cpu-prof\`, ${p.idlePct}% of the time idle (${p.threads} thread${p.threads > 1 ? 's' : ''}); self time as a share of busy time:`, '');
      lines.push('| area | self |', '|---|---|', ...p.byArea.slice(0, 10).map((a) => `| ${esc(a.area)} | ${a.selfPct}% |`));
      lines.push('', '| function | where | mostly called from | self |', '|---|---|---|---|', ...p.top.slice(0, 15).map((t) => `| ${esc(t.fn)} | ${esc(t.where)} | ${esc(t.caller)} | ${t.selfPct}% |`));
    }
  }
  lines.push(END);
  return lines.join('\n');
}

const SKELETON = `# Benchmarks\n\nRun with \`npm run bench\` (or \`npm run bench -- --quick\`).\n\n## Latest results\n\n${START}\n${END}\n`;

export function writeResults(r: BenchResults, opts: BenchOptions, log: (m: string) => void): void {
  mkdirSync(opts.outDir, { recursive: true });
  const name = `${r.date.slice(0, 10)}${r.mode === 'quick' ? '-quick' : ''}.json`;
  writeFileSync(join(opts.outDir, name), JSON.stringify(r, null, 2) + '\n');
  log(`wrote ${join(opts.outDir, name)}`);
  if (!opts.markdown) return;
  let md = existsSync(opts.markdown) ? readFileSync(opts.markdown, 'utf8') : SKELETON;
  const a = md.indexOf(START.slice(0, 30));
  const b = md.indexOf(END);
  if (a < 0 || b < 0) md = md.trimEnd() + `\n\n## Latest results\n\n${START}\n${END}\n`;
  const a2 = md.indexOf(START.slice(0, 30));
  const b2 = md.indexOf(END) + END.length;
  md = md.slice(0, a2) + markdownSection(r, name) + md.slice(b2);
  writeFileSync(opts.markdown, md);
  log(`updated ${opts.markdown}`);
}
