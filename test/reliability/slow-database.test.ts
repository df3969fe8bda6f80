import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, waitForDrain } from './load.js';

// A slow database (a busy disk, a far-away managed PostgreSQL): a TCP proxy between crash-cache and
// PostgreSQL delays every packet by DELAY_MS each way. Under a flood of CLIENTS concurrent senders,
// the payloads held waiting for a commit stay within INGEST_MAX_PENDING_COMMITS/_BYTES; the excess
// is answered 503 + Retry-After at once (outcome reason INGEST_MAX_PENDING_*), and the server's RSS
// stays under RSS_BOUND. Everything acknowledged is stored.

const DELAY_MS = 150;
const CLIENTS = 150;
const MAX_PENDING = 40;
const MAX_PENDING_BYTES = 2 * 1024 * 1024;
const FLOOD_MS = 12_000;
/**
 * The server's resident memory, at most, during the flood. Measured: 68 MB idle, 107-108 MB at most
 * (3 runs on the shared 2-core machine); the bound leaves room for heap growth between collections.
 */
const RSS_BOUND = 256 * 1024 * 1024;

let db: TestDatabase | null = null;
let server: RunningServer | null = null;
let proxy: Server | null = null;
const sockets = new Set<Socket>();

afterAll(async () => {
  await server?.stop();
  for (const s of sockets) s.destroy();
  proxy?.close();
  await db?.drop();
});

/** Forwards TCP to `port`, each chunk DELAY_MS later, in order (equal timeouts fire in order). */
function latencyProxy(port: number): Promise<number> {
  proxy = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), DELAY_MS));
      from.on('end', () => setTimeout(() => to.end(), DELAY_MS));
      from.on('error', () => to.destroy());
      from.on('close', () => sockets.delete(from));
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  return new Promise((resolve) => proxy!.listen(0, '127.0.0.1', () => resolve((proxy!.address() as { port: number }).port)));
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe('a slow database', () => {
  it(`bounds what waits for a commit and answers the excess 503 at once (PostgreSQL ${DELAY_MS} ms away each way)`, async () => {
    db = await freshDatabase();
    const { project, key } = await createProject(db.pool, { name: 'slow' });
    const u = new URL(db.url);
    u.port = String(await latencyProxy(Number(u.port)));
    server = await startServer({
      DATABASE_URL: u.toString(),
      INGEST_MAX_PENDING_COMMITS: String(MAX_PENDING),
      INGEST_MAX_PENDING_BYTES: String(MAX_PENDING_BYTES),
      DB_CONNECT_TIMEOUT_MS: '10000',
      RATE_LIMIT_GLOBAL_PER_SEC: '0',
      RATE_LIMIT_PER_IP_PER_SEC: '0',
      RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    });
    const pid = server.proc.pid!;
    const idleRss = rss(pid);

    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const headers = { 'x-sentry-auth': `Sentry sentry_key=${key.public_key}, sentry_version=7`, 'content-type': 'application/json' };
    const acked = new Map<string, number>();
    const statuses = new Map<number, number>();
    let backlogRefusals = 0;
    let slowest503 = 0;
    let maxRss = 0;
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, rss(pid))), 100);
    const until = Date.now() + FLOOD_MS;
    const send = (): Promise<void> =>
      new Promise((resolve) => {
        const id = randomUUID().replace(/-/g, '');
        // 16 KB of incompressible text: the stored form is about as large as the body.
        const body = Buffer.from(JSON.stringify({ event_id: id, platform: 'node', message: `slow ${id}`, extra: { blob: randomBytes(12 * 1024).toString('base64') } }));
        const t0 = Date.now();
        const req = request({ host: '127.0.0.1', port: server!.port, method: 'POST', path: `/api/${project.id}/store/`, agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            const st = res.statusCode ?? 0;
            statuses.set(st, (statuses.get(st) ?? 0) + 1);
            if (st === 200) acked.set(id, 0);
            if (st === 503 && /INGEST_MAX_PENDING_(COMMITS|BYTES)/.test(text)) {
              expect(res.headers['retry-after']).toBeTruthy();
              backlogRefusals++;
              slowest503 = Math.max(slowest503, Date.now() - t0);
            }
            resolve();
          });
        });
        req.on('error', () => {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
          resolve();
        });
        req.end(body);
      });
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < until) {
          await send();
          // a refused client comes back soon, as an SDK with a short retry would
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    clearInterval(sampler);
    agent.destroy();

    await waitForDrain(db.pool, 180_000);
    const { reports, missing } = await checkExactlyOnce(db.pool, project.id, acked);
    console.log(
      `slow database: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${backlogRefusals} refused for the backlog (slowest such answer ${slowest503} ms), ` +
        `${acked.size} acknowledged, ${reports} reports; RSS idle ${Math.round(idleRss / 1048576)} MB, max ${Math.round(maxRss / 1048576)} MB`,
    );
    for (const st of statuses.keys()) expect([200, 503]).toContain(st);
    expect(backlogRefusals).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(0);
    expect(maxRss).toBeLessThan(RSS_BOUND);
    expect(missing).toEqual([]);
    expect(reports).toBe(acked.size);
    // Each refusal is one outcome under the setting's name (the buffer is written through the slow proxy too).
    for (let i = 0; ; i++) {
      const { rows } = await db.pool.query<{ n: number }>("SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE outcome = 'rate_limited' AND reason LIKE 'INGEST_MAX_PENDING_%' AND project_id = $1", [project.id]);
      if (rows[0]!.n === backlogRefusals || i > 100) {
        expect(rows[0]!.n).toBe(backlogRefusals);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 300_000);
});
