import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

// Keeps `npm run bench` working: the quick mode with tiny counts, every phase, on the test run's
// PostgreSQL (the bench makes and drops databases of its own there), writing into a temporary
// directory instead of bench/results/ and BENCHMARKS.md. It checks that the harness runs and that
// its numbers are coherent, not how fast anything is.

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'cc-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench -- --quick (tiny)', () => {
  it('runs every phase and writes its results', { timeout: 150_000 }, async () => {
    const md = join(out, 'BENCHMARKS.md');
    const args = [
      join(PACKAGE_ROOT, 'dist', 'bench', 'run.js'), '--quick',
      '--phases', 'ingest,digest,default,box,latency,disk,query,profile',
      '--duration', '1', '--warmup', '0', '--processes', '2',
      '--backlog', '200', '--digest-timeout', '30', '--digest-mix', 'sdk,js',
      '--probes', '1', '--latency-warmup', '0', '--background-rate', '20', '--disk-events', '40', '--profile-digest-secs', '1',
      '--query-events', '500', '--query-issues', '10', '--query-requests', '3', '--variants', '4',
      '--out-dir', out, '--markdown', md,
    ];
    const { stdout } = await run(process.execPath, args, { env: { ...process.env, DATABASE_URL: inject('pgAdminUrl') }, timeout: 140_000 });
    expect(stdout).toContain('Ingest, 2 processes (realistic traffic)');
    expect(stdout).toContain('Ingest, 2 processes (fixed traffic)');

    const files = readdirSync(out).filter((f) => f.endsWith('-quick.json'));
    expect(files).toHaveLength(1);
    const r = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
    expect(r.mode).toBe('quick');
    // both traffics (bench/workload.ts): realistic, and fixed for comparison
    expect(r.ceiling.map((c: { processes: number; traffic: string }) => [c.processes, c.traffic])).toEqual([[2, 'realistic'], [2, 'fixed']]);
    expect(r.ingest.map((i: { traffic: string }) => i.traffic)).toEqual(['realistic', 'fixed']);
    for (const c of r.ceiling) {
      expect(c.rps).toBeGreaterThan(0);
      expect(c.memory.cpu.generator).toBeGreaterThan(0);
    }
    for (const i of r.ingest) {
      expect(i.committed).toBeGreaterThan(0);
      // every acknowledged request is committed (distinct bodies: nothing deduplicated); a few more
      // may commit than were answered, those in flight when the generator stopped
      expect(i.errors).toBe(0);
      expect(i.poolWraps).toBe(0);
      expect(i.lost).toBe(0);
      expect(i.committed).toBeGreaterThanOrEqual(i.accepted);
      expect(i.committed).toBeLessThanOrEqual(i.accepted + 100);
      expect(i.memory.serverHwmMb.length).toBe(i.processes);
      expect(Math.min(...i.memory.serverHwmMb)).toBeGreaterThan(10);
      expect(i.memory.cpu.server).toBeGreaterThan(0);
      expect(i.memory.postgresRssMb).toBeGreaterThan(0);
    }
    expect(r.digest.map((d: { mix: string }) => d.mix)).toEqual(['sdk', 'js']);
    expect(r.digest[0].backlog).toBe(200);
    // the JS-heavy mix: its events symbolicated with the uploaded bundle, none left minified
    expect(r.digest[1].backlog).toBe(200);
    expect(r.digest[1].reportsPerSec).toBeGreaterThan(0);
    expect(r.digest[1].symbolicatedIssues).toBeGreaterThan(0);
    expect(r.digest[1].minifiedIssues).toBe(0);
    // payloads and the reports they made, apart: transactions in the mix make none
    expect(r.digest[0].payloadsPerSec).toBeGreaterThan(0);
    expect(r.digest[0].newReports).toBeGreaterThan(0);
    expect(r.digest[0].newReports).toBeLessThan(200);
    expect(r.digest[0].reportsPerSec).toBeLessThan(r.digest[0].payloadsPerSec);
    // the default process: a saturated run, the drain of its backlog, then fixed rates down to one whose queue stays bounded
    const dp = r.defaultProcess;
    expect(stdout).toContain('Default process (ingest + digest), sustained (realistic traffic)');
    expect(dp.saturated.acceptedPerSec).toBeGreaterThan(0);
    expect(dp.drain.payloads).toBeGreaterThan(0);
    expect(dp.tries.length).toBeGreaterThanOrEqual(1);
    expect(dp.tries.length).toBeLessThanOrEqual(4);
    expect(dp.sustained.rate).toBe(dp.tries[dp.tries.length - 1].rate);
    expect(dp.sustained.acceptedPerSec).toBeGreaterThan(0);
    expect(dp.sustained.errors).toBe(0);
    // no one-process ceiling in this run (--processes 2): no ratio to hold it to
    expect(dp.ratioToCeiling).toBeNull();
    // the small box: where a memory cgroup can be made (root on Linux), the default process and its
    // PostgreSQL hold in 384 MB; elsewhere the row says why it was not measured
    expect(r.box.limitMb).toBe(384);
    if (r.box.skipped) expect(r.box.skipped).toMatch(/cgroup|Linux/);
    else expect([r.box.ok, r.box.oomKills, r.box.lost, r.box.queued, r.box.apiOk]).toEqual([true, 0, 0, 0, 50]);
    expect(stdout).toContain('Small box: default process + its PostgreSQL in 384 MB');
    expect(r.latency.probes).toBe(1);
    expect(r.latency.p95Ms).toBeGreaterThan(0);
    expect(r.disk.map((d: { workload: string; traffic: string }) => `${d.workload} ${d.traffic}`)).toEqual(['repeated realistic', 'mix realistic', 'repeated fixed', 'mix fixed']);
    for (const d of r.disk) {
      expect(d.events).toBe(40);
      expect(d.bytesPerEvent).toBeGreaterThan(d.archiveBytesPerEvent);
    }
    expect(r.disk[0].issues).toBe(1);
    expect(r.query.events).toBeGreaterThanOrEqual(500);
    expect(r.query.variants.length).toBe(7);
    for (const v of r.query.variants) {
      expect(v.error).toBeUndefined();
      expect(v.requests).toBe(3);
    }
    // 10 issues at 25 a page: one page; the detail and latest-event requests answered
    expect(r.query.detail.map((d: { name: string; requests: number; error?: string }) => [d.name, d.requests, d.error])).toEqual([['issue detail', 21, undefined], ['latest event', 21, undefined]]);
    expect(r.profile.ingest.samples).toBeGreaterThan(0);
    expect(r.profile.ingest.top.length).toBeGreaterThan(0);
    expect(r.profile.digest.top.length).toBeGreaterThan(0);

    const text = readFileSync(md, 'utf8');
    expect(text).toContain('<!-- bench:results:start');
    expect(text).toContain('| Ingest, 2 processes (realistic traffic) |');
  });
});
