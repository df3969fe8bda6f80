import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { send } from './http.js';

// The database goes away under a running server: ingest answers 503 with Retry-After (never hangs,
// never 500), /health says 503, nothing is half-written, and when the database returns the server
// serves again by itself. The "outage" is a real TCP relay between the server and PostgreSQL that
// the test closes (connections reset, new ones refused) and reopens on the same port.

class Relay {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  async down(): Promise<void> {
    const s = this.server!;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

let db: TestDatabase;
let relay: Relay;
let server: RunningServer;
let projectId: number;
let key: string;

beforeAll(async () => {
  db = await freshDatabase();
  const p = await createProject(db.pool, { name: 'outage' });
  projectId = p.project.id;
  key = p.key.public_key;
  const u = new URL(db.url);
  relay = new Relay({ host: u.hostname, port: Number(u.port) });
  await relay.up();
  u.port = String(relay.port);
  server = await startServer(
    { DATABASE_URL: u.toString(), DB_CONNECT_TIMEOUT_MS: '1000', RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' },
    ['--no-worker'],
  );
});
afterAll(async () => {
  await server?.stop();
  await relay?.down().catch(() => {});
  await db?.drop();
});

const hex = () => createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32);
const post = (id: string, k = key) =>
  send(`${server.url}/api/${projectId}/store/?sentry_key=${k}`, { body: JSON.stringify({ event_id: id, message: 'outage' }), headers: { 'content-type': 'application/json' } });

describe('database outage', () => {
  it('answers 503 with Retry-After while the database is unreachable, and recovers by itself', async () => {
    expect((await post(hex())).status).toBe(200);
    await relay.down();

    const lost = hex();
    const r = await post(lost);
    expect(r.status, r.text).toBe(503);
    expect(r.headers['retry-after']).toBeTruthy();
    expect(r.json.detail).toMatch(/database/);
    // An uncached key needs a lookup: also 503, not 401 or 500.
    const u = await post(hex(), 'ffffffffffffffffffffffffffffffff');
    expect(u.status, u.text).toBe(503);
    const h = await send(`${server.url}/health`, { method: 'GET' });
    expect(h.status).toBe(503);
    expect(h.json.status).toBe('unavailable');
    expect(server.proc.exitCode).toBeNull();

    await relay.up();
    let healthy = false;
    for (let i = 0; i < 150 && !healthy; i++) {
      healthy = (await send(`${server.url}/health`, { method: 'GET' })).status === 200;
      if (!healthy) await new Promise((res) => setTimeout(res, 200));
    }
    expect(healthy).toBe(true);
    const back = hex();
    expect((await post(back)).status).toBe(200);
    const { rows } = await db.pool.query(`SELECT event_id::text FROM archive WHERE event_id = ANY($1::uuid[])`, [[lost, back]]);
    expect(rows.map((x) => x.event_id.replace(/-/g, ''))).toEqual([back]);
  });
});
