import { performance } from 'node:perf_hooks';
import { apiGet, createToken, ORG } from './api.js';
import { makeMemoryCgroup } from './cgroup.js';
import { round, saturatingLoad, type BenchContext } from './context.js';
import { countRows, openBenchPg, waitDrained } from './db.js';
import { runLoad } from './load.js';
import { startCrashCache, statusKb } from './procs.js';

// A small box: the default process (`npm start`) and an embedded PostgreSQL of its own, together in
// a memory cgroup of `boxMemory` MB — a small virtual machine without swap, less what its system
// takes. crash-cache sees the limit itself (process.constrainedMemory) and sizes itself for it
// (MEMORY_BUDGET, src/config/settings.ts); the bench gives its PostgreSQL the same budget. Then,
// as the default-process phase: saturating load for `duration` s, the drain of what queued, and
// issue-list pages read through the API. Passes when the kernel killed nothing for memory and every
// accepted payload is in the archive, digested. The load generator runs outside the cgroup.

export interface BoxResult {
  limitMb: number;
  /** set when no memory cgroup could be made here (then nothing else is) */
  skipped?: string;
  acceptedPerSec?: number;
  p99Ms?: number;
  errors?: number;
  drainSeconds?: number;
  /** the server's own peak RSS, and the cgroup's peak of memory the kernel cannot reclaim (anonymous + shared), sampled every 250 ms */
  serverHwmMb?: number;
  unreclaimablePeakMb?: number;
  oomKills?: number;
  /** accepted payloads missing from the archive (must be 0) and payloads left queued or failed */
  lost?: number;
  queued?: number;
  apiOk?: number;
  ok?: boolean;
}

export async function runBox(ctx: BenchContext): Promise<BoxResult> {
  const { opts, log } = ctx;
  const limitMb = opts.boxMemory;
  const cg = makeMemoryCgroup('crash-cache-box', limitMb);
  if (typeof cg === 'string') {
    log(`small box: skipped: ${cg}`);
    return { limitMb, skipped: cg };
  }
  // What starts while the bench is inside stays inside: PostgreSQL (its postmaster forks every
  // backend) and the server. The bench steps out before it builds the load.
  try {
    cg.enter();
  } catch (e) {
    cg.remove();
    const why = `cannot move a process into the cgroup: ${(e as Error).message}`;
    log(`small box: skipped: ${why}`);
    return { limitMb, skipped: why };
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, cg.unreclaimableMb())), 250);
  let left = false;
  const leave = () => {
    if (!left) cg.leave();
    left = true;
  };
  const pg = await openBenchPg(log, { memoryBudget: limitMb * 1024 * 1024 }).catch((e) => {
    leave();
    throw e;
  });
  try {
    const db = await pg.create('box');
    const server = await startCrashCache({ databaseUrl: db.url });
    leave();
    let serverHwmMb = 0;
    const hwm = setInterval(() => (serverHwmMb = Math.max(serverHwmMb, statusKb(server.proc.pid ?? 0, 'VmHWM') / 1024)), 250);
    try {
      // bodies for 6,000 events/s, so that none is sent twice (a repeat is stored once: it would count as lost)
      const load = await runLoad(saturatingLoad(ctx, db, [server], opts.duration, 6000), opts.generator);
      const accepted = load.requests - load.rejected;
      log(`small box (${limitMb} MB): ${round(accepted / load.durationSec)} events/s accepted; draining`);
      const t0 = performance.now();
      let drainSeconds: number | undefined;
      try {
        await waitDrained(server.port, 'small box');
        drainSeconds = round((performance.now() - t0) / 1000, 1);
      } catch (e) {
        log(`small box: the drain failed: ${(e as Error).message}`);
      }
      let apiOk = 0;
      try {
        const token = await createToken(db);
        for (let i = 0; i < 50; i++) if ((await apiGet(server.port, `/api/0/projects/${ORG}/${db.projectSlug}/issues/?limit=25&sort=freq`, token)).status === 200) apiOk++;
      } catch (e) {
        log(`small box: the API failed: ${(e as Error).message}`);
      }
      const archived = await countRows(db, 'archive');
      const queued = (await countRows(db, 'queue')) + (await countRows(db, 'queue_error'));
      const oomKills = cg.oomKills();
      const lost = Math.max(0, accepted - archived);
      const r: BoxResult = {
        limitMb,
        acceptedPerSec: round(accepted / load.durationSec),
        p99Ms: load.latencyMs.p99,
        errors: load.errors,
        drainSeconds,
        serverHwmMb: round(serverHwmMb, 1),
        unreclaimablePeakMb: peak,
        oomKills,
        lost,
        queued,
        apiOk,
        ok: oomKills === 0 && lost === 0 && queued === 0 && drainSeconds !== undefined && apiOk === 50,
      };
      log(`small box (${limitMb} MB): ${JSON.stringify(r)}`);
      return r;
    } finally {
      clearInterval(hwm);
      await server.stop().catch(() => {});
      await db.drop();
    }
  } finally {
    leave();
    clearInterval(sampler);
    await pg.close().catch((e) => log(`small box: closing its PostgreSQL failed: ${(e as Error).message}`));
    cg.remove();
  }
}
