import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { createToken } from '../../src/api/tokens.js';

// Every item sent ends in exactly one outcome: a mixed storm of envelopes shaped as @sentry/node
// sends them (an error with an attachment, a transaction, a session, a cron check-in, an error with
// a user report, an event the digest finds broken, and an envelope over an item limit), and a legacy
// store body the digest finds broken, meets a project limited per category. Afterwards stats_v2 must
// account for every item the test sent, per category: accepted + rate_limited + invalid + too_large =
// sent. The test counts what it sends by its own rules (attachments in bytes and in items), not
// through the server's table.

let db: TestDatabase;
let server: RunningServer;
let projectId: number;
let key: string;
let token: string;

const MAX_ATTACHMENT = 4096;

beforeAll(async () => {
  db = await freshDatabase();
  const p = await createProject(db.pool, { name: 'storm' });
  projectId = p.project.id;
  key = p.key.public_key;
  await db.pool.query('UPDATE project SET rate_limit_per_sec = 2 WHERE id = $1', [projectId]);
  token = (await createToken(db.pool, 'storm')).token;
  server = await startServer({
    DATABASE_URL: db.url,
    RATE_LIMIT_GLOBAL_PER_SEC: '0',
    RATE_LIMIT_PER_IP_PER_SEC: '0',
    RATE_LIMIT_BURST_SECS: '2',
    MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT),
  });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const hex = () => randomBytes(16).toString('hex');
const now = () => new Date().toISOString();

type Item = [Record<string, unknown>, string | Buffer];

function envelope(header: Record<string, unknown>, items: Item[]): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify({ ...header, sent_at: now(), sdk: { name: 'sentry.javascript.node', version: '11.12.0' } }) + '\n')];
  for (const [h, p] of items) {
    const b = Buffer.isBuffer(p) ? p : Buffer.from(p);
    parts.push(Buffer.from(JSON.stringify({ ...h, length: b.length }) + '\n'), b, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

const errorEvent = (id: string, message = 'card declined') =>
  JSON.stringify({
    event_id: id, timestamp: Date.now() / 1000, platform: 'node', level: 'error', environment: 'production', release: 'shop@1.0.0',
    exception: { values: [{ type: 'Error', value: message, stacktrace: { frames: [{ filename: '/app/pay.js', function: 'charge', lineno: 12, in_app: true }] } }] },
  });

/** The storm's payload kinds (envelopes unless `store`), each with what it carries per category as the test counts it. */
const KINDS: { name: string; store?: true; make: () => { body: Buffer; sent: Record<string, number> } }[] = [
  {
    name: 'error + attachment',
    make: () => {
      const id = hex();
      const att = randomBytes(700);
      return {
        body: envelope({ event_id: id }, [[{ type: 'event' }, errorEvent(id)], [{ type: 'attachment', filename: 'dump.bin', content_type: 'application/octet-stream' }, att]]),
        sent: { error: 1, attachment: att.length, attachment_item: 1 },
      };
    },
  },
  {
    name: 'transaction',
    make: () => {
      const id = hex();
      const t = Date.now() / 1000;
      const tx = { event_id: id, type: 'transaction', transaction: 'GET /cart', start_timestamp: t - 0.2, timestamp: t, platform: 'node', contexts: { trace: { trace_id: hex(), span_id: hex().slice(0, 16), op: 'http.server' } }, spans: [] };
      return { body: envelope({ event_id: id }, [[{ type: 'transaction' }, JSON.stringify(tx)]]), sent: { transaction: 1 } };
    },
  },
  {
    name: 'session',
    make: () => ({
      body: envelope({}, [[{ type: 'session' }, JSON.stringify({ sid: randomUUID(), init: true, started: now(), timestamp: now(), status: 'ok', errors: 0, attrs: { release: 'shop@1.0.0', environment: 'production' } })]]),
      sent: { session: 1 },
    }),
  },
  {
    name: 'check-in',
    make: () => ({
      body: envelope({}, [[{ type: 'check_in' }, JSON.stringify({ check_in_id: hex(), monitor_slug: 'nightly', status: 'ok', duration: 1.5 })]]),
      sent: { monitor: 1 },
    }),
  },
  {
    name: 'error + session',
    make: () => {
      const id = hex();
      return {
        body: envelope({ event_id: id }, [
          [{ type: 'event' }, errorEvent(id, 'timeout')],
          [{ type: 'session' }, JSON.stringify({ sid: randomUUID(), init: true, started: now(), timestamp: now(), status: 'ok', errors: 1, attrs: { release: 'shop@1.0.0' } })],
        ]),
        sent: { error: 1, session: 1 },
      };
    },
  },
  {
    // The digest finds it broken: an `invalid` outcome in the error category.
    name: 'broken event',
    make: () => {
      const id = hex();
      return { body: envelope({ event_id: id }, [[{ type: 'event' }, '{"message": broken']]), sent: { error: 1 } };
    },
  },
  {
    // A legacy store body that is one object but not JSON inside: accepted, then `invalid` from the digest.
    name: 'broken store body',
    store: true,
    make: () => ({ body: Buffer.from(`{"event_id":"${hex()}","platform":"python","message":tru}`), sent: { error: 1 } }),
  },
  {
    // Over MAX_ATTACHMENT_BYTES: refused whole (413), every item counted.
    name: 'oversized attachment',
    make: () => {
      const id = hex();
      const att = randomBytes(MAX_ATTACHMENT + 1);
      return {
        body: envelope({ event_id: id }, [[{ type: 'event' }, errorEvent(id)], [{ type: 'attachment', filename: 'big.bin' }, att]]),
        sent: { error: 1, attachment: att.length, attachment_item: 1 },
      };
    },
  },
];

async function api(path: string): Promise<any> {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status, path).toBe(200);
  return r.json();
}

describe('a mixed storm against per-category limits', () => {
  it('accounts for every item sent, per category, in stats_v2', async () => {
    const sent: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    // 8 rounds of every kind, sent concurrently per round: far over 2/s per category (burst 4).
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(
        KINDS.map(async (k) => {
          const { body, sent: s } = k.make();
          for (const [c, q] of Object.entries(s)) sent[c] = (sent[c] ?? 0) + q;
          const r = k.store
            ? await fetch(`${server.url}/api/${projectId}/store/`, { method: 'POST', body, headers: { 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7` } })
            : await fetch(`${server.url}/api/${projectId}/envelope/?sentry_key=${key}&sentry_version=7`, { method: 'POST', body });
          await r.arrayBuffer();
          return { kind: k.name, status: r.status, limits: r.headers.get('x-sentry-rate-limits') };
        }),
      );
      for (const a of answers) {
        statuses[a.status] = (statuses[a.status] ?? 0) + 1;
        // An error + session envelope with one of its categories shut keeps the other: a 200 naming the shut one.
        if (a.kind === 'error + session' && a.status === 200 && a.limits) expect(a.limits).toMatch(/^\d+:(error|session):project:project_rate_limit$/);
        if (a.status === 429) expect(a.limits).toMatch(/^\d+:[a-z_;]+:project:project_rate_limit/);
      }
    }
    expect(statuses[429], JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(statuses[413]).toBe(8);

    // Wait for the digest (queue and counters) and for the outcome buffer's flush (about a second).
    const deadline = Date.now() + 30_000;
    const total = () => Object.values(sent).reduce((a, b) => a + b, 0);
    let got: Record<string, Record<string, number>> = {};
    while (Date.now() < deadline) {
      const { rows } = await db.pool.query(UNDIGESTED_SQL);
      if (rows[0].n === 0) {
        const j = await api(`/api/0/organizations/crash-cache/stats_v2/?field=sum(quantity)&groupBy=outcome&groupBy=category&statsPeriod=24h&interval=1h&project=${projectId}`);
        got = {};
        for (const g of j.groups) (got[g.by.category] ??= {})[g.by.outcome] = g.totals['sum(quantity)'];
        const counted = Object.values(got).flatMap((o) => Object.entries(o).filter(([k]) => k !== 'client_discard').map(([, v]) => v)).reduce((a, b) => a + b, 0);
        if (counted >= total()) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const [category, n] of Object.entries(sent)) {
      const o = got[category] ?? {};
      const sum = Object.entries(o).filter(([k]) => k !== 'client_discard').reduce((a, [, v]) => a + v, 0);
      expect(sum, `${category}: ${JSON.stringify(o)} against ${n} sent`).toBe(n);
    }
    // Nothing counted in a category the storm did not send.
    expect(Object.keys(got).sort()).toEqual(Object.keys(sent).sort());
    // Each way an item can end is there.
    expect(got.error?.accepted).toBeGreaterThan(0);
    expect(got.error?.rate_limited).toBeGreaterThan(0);
    expect(got.error?.invalid).toBeGreaterThan(0);
    expect(got.error?.too_large).toBe(8);
    expect(got.attachment_item?.too_large).toBe(8);
    expect(got.session?.accepted).toBeGreaterThan(0);
  });

  it('an envelope whose errors are over the quota keeps its session and check-in: 200 naming the category', async () => {
    const p = await createProject(db.pool, { name: 'quota' });
    await db.pool.query('UPDATE project SET rate_limit_per_sec = 1 WHERE id = $1', [p.project.id]);
    const post = (body: Buffer) => fetch(`${server.url}/api/${p.project.id}/envelope/?sentry_key=${p.key.public_key}&sentry_version=7`, { method: 'POST', body });
    // Errors until their bucket (1/s, 2 s of burst) is shut; it refills one token a second, far
    // longer than the next requests take.
    let shut = false;
    for (let i = 0; i < 10 && !shut; i++) {
      const id = hex();
      const r = await post(envelope({ event_id: id }, [[{ type: 'event' }, errorEvent(id)]]));
      await r.arrayBuffer();
      if (r.status === 429) {
        expect(r.headers.get('x-sentry-rate-limits')).toMatch(/^\d+:error:project:project_rate_limit$/);
        shut = true;
      } else expect(r.status).toBe(200);
    }
    expect(shut).toBe(true);
    const id = hex();
    const sid = randomUUID();
    const mixed = await post(
      envelope({ event_id: id }, [
        [{ type: 'event' }, errorEvent(id, 'over quota')],
        [{ type: 'attachment', filename: 'a.txt' }, 'follows its event'],
        [{ type: 'session' }, JSON.stringify({ sid, init: true, started: now(), timestamp: now(), status: 'ok', errors: 1, attrs: { release: 'shop@2.0.0' } })],
        [{ type: 'check_in' }, JSON.stringify({ check_in_id: hex(), monitor_slug: 'quota-job', status: 'ok' })],
      ]),
    );
    expect(mixed.status).toBe(200);
    expect(await mixed.json()).toEqual({ id });
    expect(mixed.headers.get('x-sentry-rate-limits')).toMatch(/^\d+:error:project:project_rate_limit$/);
    // What was kept is what the digest got: the session and the check-in, not the event or its attachment.
    const deadline = Date.now() + 20_000;
    let seen = { sessions: 0, checkIns: 0, reports: 0, attachments: 0 };
    while (Date.now() < deadline) {
      const { rows } = await db.pool.query(
        `SELECT (SELECT count(*) FROM session_hourly WHERE project_id = $1)::int AS sessions,
                (SELECT count(*) FROM check_in WHERE project_id = $1)::int AS "checkIns",
                (SELECT count(*) FROM report WHERE project_id = $1 AND event_id = $2)::int AS reports,
                (SELECT count(*) FROM attachment WHERE project_id = $1)::int AS attachments`,
        [p.project.id, id],
      );
      seen = rows[0];
      if (seen.sessions && seen.checkIns) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toEqual({ sessions: 1, checkIns: 1, reports: 0, attachments: 0 });
  });
});
