import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { hostileCorpus, type HostileRequest } from './hostile-corpus.js';

// ≥ 10,000 malformed requests against a running server: each must get a 4xx JSON answer naming the
// problem, never a 5xx; the process must survive with bounded memory and accept a valid event after.

const COUNT = Number(process.env.HOSTILE_COUNT ?? 10_500);
const MAX_COMPRESSED = 512 * 1024;
let app: TestApp;

beforeAll(async () => {
  app = await startApp('hostile', { MAX_COMPRESSED_BODY_BYTES: String(MAX_COMPRESSED), MAX_ENVELOPE_BYTES: String(4 * 1024 * 1024) });
});
afterAll(async () => {
  await app?.close();
});

interface Answer { status: number; body: string; contentType: string }

function send(agent: Agent, port: number, r: HostileRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, 'content-length': String(r.body.length) }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), contentType: String(res.headers['content-type'] ?? '') }));
        res.on('error', () => resolve({ status: -1, body: 'response error', contentType: '' }));
      },
    );
    // The server may answer (413, 401…) and close before reading a large body: that is fine.
    req.on('error', (e) => resolve({ status: -2, body: `request error ${e.message}`, contentType: '' }));
    req.end(r.body);
  });
}

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(bytes));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

function rssKb(pid: number): { rss: number; hwm: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(st)?.[1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(st)?.[1]) };
}

describe('hostile input', () => {
  it(`answers ${COUNT} malformed requests with 4xx JSON, stays up, memory bounded`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const corpus = [...hostileCorpus({ projectId: app.projectId, key: app.key, maxCompressed: MAX_COMPRESSED, count: COUNT })];
    expect(corpus.length).toBe(COUNT);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const workers = Array.from({ length: 16 }, async () => {
      while (next < corpus.length) {
        const r = corpus[next++]!;
        const a = await send(agent, app.server.port, r);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        let detail: unknown;
        try {
          detail = (JSON.parse(a.body) as { detail?: unknown }).detail;
        } catch {
          detail = undefined;
        }
        // -2: the server refused early and closed while a large body was still being written; the
        // answer was sent but the client saw the reset first. Accepted only for bodies over a limit.
        const earlyClose = a.status === -2 && r.body.length > 256 * 1024;
        if (!earlyClose && (a.status < 400 || a.status > 499 || typeof detail !== 'string' || !a.contentType.includes('json'))) {
          if (failures.length < 20) failures.push(`${r.name}: ${a.status} ${a.body.slice(0, 200)}`);
        }
      }
    });
    await Promise.all(workers);
    agent.destroy();
    const raw = [
      await rawExchange(app.server.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      await rawExchange(app.server.port, 'NOT HTTP AT ALL\r\n\r\n'),
      await rawExchange(app.server.port, `POST /api/${app.projectId}/store/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`),
    ];
    for (const text of raw) {
      expect(text).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(text).toMatch(/"detail":/);
    }
    const mem = rssKb(app.server.proc.pid!);
    console.log(`hostile corpus: ${COUNT} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, server RSS ${(mem.rss / 1024).toFixed(0)} MB, peak ${(mem.hwm / 1024).toFixed(0)} MB`);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(app.server.proc.exitCode).toBeNull();
    // Bombs are 64 MiB decompressed against 1–4 MiB limits: peak memory must stay far below that × concurrency.
    expect(mem.hwm / 1024).toBeLessThan(400);

    const ok = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'b'.repeat(32), message: 'still alive', level: 'error', platform: 'node' }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: 'b'.repeat(32) });
  }, 300_000);
});
