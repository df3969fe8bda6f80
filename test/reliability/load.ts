import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type pg from 'pg';
import { UNDIGESTED_SQL } from '../helpers/db.js';

// Load helpers for the reliability tests: unique store events from a fixed set of error kinds, sent
// by concurrent clients that remember which event ids were acknowledged with a 200.

export const KINDS = 20;

export function makeEvent(kind: number): { id: string; body: Buffer } {
  const id = randomUUID().replace(/-/g, '');
  const event = {
    event_id: id,
    platform: 'node',
    level: 'error',
    timestamp: Date.now() / 1000,
    release: 'reliability@1.0.0',
    environment: 'test',
    exception: {
      values: [
        {
          type: `ReliabilityError${kind}`,
          value: `kind ${kind} failed for request ${id.slice(0, 8)}`,
          stacktrace: { frames: [{ filename: '/srv/app/main.js', function: `handler${kind}`, lineno: 10 + kind, in_app: true }] },
        },
      ],
    },
    tags: { kind: String(kind) },
    user: { id: `user-${kind % 5}` },
  };
  return { id, body: Buffer.from(JSON.stringify(event)) };
}

export interface Outcome { status: number; retryAfter?: string; ms: number }

export function post(agent: Agent, url: string, path: string, headers: Record<string, string>, body: Buffer, timeoutMs = 20_000): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path, agent, headers: { ...headers, 'content-length': String(body.length) }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, ms: Date.now() - t0 }));
      res.on('error', () => resolve({ status: -1, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, ms: Date.now() - t0 }));
    req.end(body);
  });
}

export interface LoadStats {
  acked: Map<string, number>; // event id → kind
  statuses: Map<number, number>;
  maxMs: number;
}

/** Runs `clients` concurrent senders until `stop()` is called; `target()` gives the current server URL. */
export function runLoad(target: () => string | null, projectId: number, key: string, clients: number, limit = Infinity) {
  const stats: LoadStats = { acked: new Map(), statuses: new Map(), maxMs: 0 };
  let stopped = false;
  let sent = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const headers = { 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7`, 'content-type': 'application/json' };
  const loops = Array.from({ length: clients }, async (_, c) => {
    while (!stopped && sent < limit) {
      const url = target();
      if (!url) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      sent++;
      const kind = (sent + c) % KINDS;
      const ev = makeEvent(kind);
      const o = await post(agent, url, `/api/${projectId}/store/`, headers, ev.body);
      stats.statuses.set(o.status, (stats.statuses.get(o.status) ?? 0) + 1);
      stats.maxMs = Math.max(stats.maxMs, o.ms);
      if (o.status === 200) stats.acked.set(ev.id, kind);
      else if (o.status !== -1) await new Promise((r) => setTimeout(r, 50));
      else await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    },
    done: () => Promise.all(loops).then(() => agent.destroy()),
  };
}

/** Waits until the digest has drained the queue and folded its issue counters, failing after `timeoutMs`. */
export async function waitForDrain(pool: pg.Pool, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(UNDIGESTED_SQL);
    if (rows[0]!.n === 0) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`queue not drained after ${timeoutMs} ms: ${rows[0]!.n} left`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the reliability tests check after a drain: which acknowledged ids are not a report, how many
 * reports there are (the caller compares with the acknowledged count: reports are unique per event id
 * by constraint, so a duplicate can only show as too many), and the sum of the issues' `event_count`,
 * which must equal `reports` once the counters are folded (waitForDrain waits for that). */
export async function checkExactlyOnce(pool: pg.Pool, projectId: number, acked: Map<string, number>): Promise<{ reports: number; missing: string[]; counted: number }> {
  const { rows } = await pool.query<{ event_id: string }>("SELECT replace(event_id::text, '-', '') AS event_id FROM report WHERE project_id = $1", [projectId]);
  const seen = new Set(rows.map((r) => r.event_id));
  const missing = [...acked.keys()].filter((id) => !seen.has(id));
  const counted = await pool.query<{ n: number }>('SELECT coalesce(sum(event_count), 0)::int AS n FROM issue WHERE project_id = $1', [projectId]);
  return { reports: rows.length, missing, counted: counted.rows[0]!.n };
}
