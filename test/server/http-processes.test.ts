import { get } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// HTTP_PROCESSES=2: one port, two processes (SO_REUSEPORT), the second started and supervised by the
// first. /health names the pid that answered; each request opens a new connection, which the kernel
// gives to either process.

let db: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  db = await freshDatabase();
  server = await startServer({ DATABASE_URL: db.url, HTTP_PROCESSES: '2' });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** The pid in /health's answer, over a connection of its own. */
function healthPid(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(body) as { pid: number }).pid) : reject(new Error(`${res.statusCode} ${body}`))));
    }).on('error', reject);
  });
}

/** Asks /health until `done` holds for the pids seen (a started sibling takes a moment to listen).
 * A connection the kernel had queued for a process just killed is reset (SO_REUSEPORT keeps one
 * queue per socket): such a refusal is asked again. */
async function pidsUntil(done: (seen: Set<number>) => boolean): Promise<Set<number>> {
  const seen = new Set<number>();
  const until = Date.now() + 60_000;
  while (!done(seen)) {
    if (Date.now() > until) throw new Error(`only pids ${[...seen].join(', ')} answered:\n${server.logs.slice(-20).join('\n')}`);
    const pid = await healthPid(server.port).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET' && e.code !== 'ECONNREFUSED') throw e;
      return null;
    });
    if (pid) seen.add(pid);
    await new Promise((r) => setTimeout(r, 10));
  }
  return seen;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let sibling = 0;

it('answers on one port from two processes: the first and the one it started', async () => {
  const seen = await pidsUntil((s) => s.size >= 2);
  expect(seen.size).toBe(2);
  expect(seen.has(server.proc.pid!)).toBe(true);
  sibling = [...seen].find((p) => p !== server.proc.pid)!;
  expect(server.logs.filter((l) => l.includes('"msg":"listening"')).length).toBe(2);
});

it('starts another process when one is killed, on the same port', async () => {
  process.kill(sibling, 'SIGKILL');
  const seen = await pidsUntil((s) => [...s].some((p) => p !== server.proc.pid && p !== sibling));
  expect(seen.has(sibling)).toBe(false);
  expect(server.logs.some((l) => l.includes('http process exited; starting another') && l.includes(`"pid":${sibling}`))).toBe(true);
  sibling = [...seen].find((p) => p !== server.proc.pid)!;
  expect(alive(sibling)).toBe(true);
});

it('stops every process on SIGTERM', async () => {
  expect(await server.stop()).toBe(0);
  expect(alive(sibling)).toBe(false);
});

it('ends the other processes when the first is killed outright', async () => {
  server = await startServer({ DATABASE_URL: db.url, HTTP_PROCESSES: '2' });
  const other = [...(await pidsUntil((s) => s.size >= 2))].find((p) => p !== server.proc.pid)!;
  expect(alive(other)).toBe(true);
  await server.stop('SIGKILL');
  const until = Date.now() + 30_000;
  while (alive(other) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(alive(other)).toBe(false);
});
