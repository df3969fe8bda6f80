import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/tokens.js';
import type { Scope } from '../../src/auth/scopes.js';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { describeShared } from '../helpers/shared.js';
import { send } from '../ingest/http.js';

// Projects and DSN keys through the API, in Sentry's shapes, on a real server and PostgreSQL: the
// implicit team, creating and deleting a project (everything it owned gone from every table), keys
// (create, update, disable, rate limit, delete) and what ingest makes of them.

let db: TestDatabase;
let server: RunningServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  db = await freshDatabase();
  // INGEST_KEY_CACHE_MS=0: a key's change is seen by the next request (in production within the TTL).
  server = await startServer({ DATABASE_URL: db.url, ...NO_RATE_LIMITS, INGEST_KEY_CACHE_MS: '0', RETENTION_BATCH_SIZE: '3' });
  const make = async (name: string, scopes: Scope[]) => (tokens[name] = (await createToken(db.pool, name, { scopes })).token);
  await make('read', ['project:read', 'org:read']);
  await make('write', ['project:write', 'org:read']);
  await make('admin', ['project:admin', 'org:read', 'event:read']);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${server.url}/api/0${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hex = () => randomUUID().replace(/-/g, '');

/** An envelope of (headers, payload) items. */
function envelope(eventId: string, items: [Record<string, unknown>, string | Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify({ event_id: eventId })}\n`)];
  for (const [h, p] of items) {
    const b = Buffer.isBuffer(p) ? p : Buffer.from(p);
    parts.push(Buffer.from(`${JSON.stringify({ ...h, length: b.length })}\n`), b, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function ingest(projectId: number, key: string, body: Buffer) {
  return send(`${server.url}/api/${projectId}/envelope/`, {
    headers: { 'content-type': 'application/x-sentry-envelope', 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7`, 'content-length': String(body.length) },
    body,
  });
}

function errorEvent(projectId: number, key: string, message: string) {
  const id = hex();
  return ingest(projectId, key, envelope(id, [[{ type: 'event' }, JSON.stringify({ event_id: id, message, level: 'error', platform: 'node', tags: { t: message } })]]));
}

async function outcomes(projectId: number, reason: string): Promise<number> {
  const { rows } = await db.pool.query('SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE project_id = $1 AND reason = $2', [projectId, reason]);
  return rows[0].n;
}

/** Tables with a project_id column and how many rows of `projectId` each holds (retention_deletion is the deletion's own record). */
async function rowsOf(projectId: number): Promise<Record<string, number>> {
  const { rows: tables } = await db.pool.query<{ t: string }>(
    `SELECT c.table_name AS t FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = current_schema() AND c.column_name = 'project_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`);
  const out: Record<string, number> = {};
  for (const { t } of tables) {
    if (t === 'retention_deletion') continue;
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM "${t}" WHERE project_id = $1`, [projectId]);
    out[t] = rows[0].n;
  }
  const p = await db.pool.query('SELECT count(*)::int AS n FROM project WHERE id = $1', [projectId]);
  out.project = p.rows[0].n;
  return out;
}

describe('projects', () => {
  it('lists the one implicit team, with its projects', async () => {
    const r = await api('GET', '/organizations/crash-cache/teams/', tokens.read!);
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(1);
    expect(r.json[0]).toMatchObject({ id: '1', slug: 'crash-cache', isMember: true, hasAccess: true, projects: [] });
    expect((await api('GET', '/organizations/other/teams/', tokens.read!)).status).toBe(404);
  });

  it('creates a project in the team (201, slug from the name), refuses a taken slug (409), and needs project:write', async () => {
    const refused = await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.read!, { name: 'Nope' });
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toMatch(/project:write/);
    expect((await db.pool.query("SELECT 1 FROM project WHERE name = 'Nope'")).rowCount).toBe(0);

    const r = await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Web Shop', platform: 'javascript' });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ slug: 'web-shop', name: 'Web Shop', platform: 'javascript', team: { slug: 'crash-cache' } });
    const keys = await api('GET', `/projects/crash-cache/web-shop/keys/`, tokens.read!);
    expect(keys.json).toHaveLength(1);
    expect(keys.json[0].dsn.public).toMatch(new RegExp(`^http://${keys.json[0].public}@[^/]+/${r.json.id}$`));

    expect((await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Other', slug: 'web-shop' })).status).toBe(409);
    expect((await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Bad', slug: 'Bad Slug' })).status).toBe(400);
    expect((await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, {})).status).toBe(400);
    expect((await api('POST', '/teams/crash-cache/no-team/projects/', tokens.write!, { name: 'x' })).status).toBe(404);
    const named = await api('POST', '/teams/crash-cache/1/projects/', tokens.write!, { name: 'Other', slug: 'other-slug' });
    expect(named.status).toBe(201);
    expect(named.json.slug).toBe('other-slug');
    const team = await api('GET', '/organizations/crash-cache/teams/', tokens.read!);
    expect(team.json[0].projects.map((p: { slug: string }) => p.slug)).toEqual(['web-shop', 'other-slug']);
  });

  it('two creations racing for one name both succeed, with distinct slugs', async () => {
    const rs = await Promise.all(Array.from({ length: 4 }, () => api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Race' })));
    expect(rs.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(rs.map((r) => r.json.slug).sort()).toEqual(['race', 'race-2', 'race-3', 'race-4']);
  });

  it('renames through PUT (the slug stays) with the storage function the UI uses', async () => {
    const r = await api('PUT', '/projects/crash-cache/other-slug/', tokens.write!, { name: 'Renamed', platform: 'python' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ slug: 'other-slug', name: 'Renamed', platform: 'python' });
    expect((await api('PUT', '/projects/crash-cache/other-slug/', tokens.write!, { name: '  ' })).status).toBe(400);
  });
});

describe('keys', () => {
  let projectId: number;
  let first: string;

  beforeAll(async () => {
    const r = await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Keys' });
    projectId = Number(r.json.id);
    first = (await api('GET', '/projects/crash-cache/keys/keys/', tokens.read!)).json[0].id;
  });

  it('creates a key with a name and a rate limit, reads, updates and deletes it, in Sentry\'s shapes', async () => {
    expect((await api('POST', '/projects/crash-cache/keys/keys/', tokens.read!, { name: 'x' })).status).toBe(403);
    const c = await api('POST', '/projects/crash-cache/keys/keys/', tokens.write!, { name: 'Backend', rateLimit: { window: 3600, count: 100 } });
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ name: 'Backend', label: 'Backend', isActive: true, rateLimit: { window: 3600, count: 100 }, projectId });
    expect(c.json.dsn.public).toContain(`${c.json.public}@`);
    const id = c.json.id as string;
    expect((await api('GET', `/projects/crash-cache/keys/keys/${id}/`, tokens.read!)).json.name).toBe('Backend');

    const u = await api('PUT', `/projects/crash-cache/keys/keys/${id}/`, tokens.write!, { name: 'Backend 2', isActive: false, rateLimit: null });
    expect(u.status).toBe(200);
    expect(u.json).toMatchObject({ name: 'Backend 2', isActive: false, rateLimit: null });
    expect((await api('GET', '/projects/crash-cache/keys/keys/?status=inactive', tokens.read!)).json.map((k: { id: string }) => k.id)).toEqual([id]);
    expect((await api('GET', '/projects/crash-cache/keys/keys/?status=active', tokens.read!)).json.map((k: { id: string }) => k.id)).toEqual([first]);
    // Sentry: a count or window of 0 means no limit; out of range is a 400 that changes nothing.
    expect((await api('PUT', `/projects/crash-cache/keys/keys/${id}/`, tokens.write!, { rateLimit: { window: 0, count: 5 } })).json.rateLimit).toBe(null);
    expect((await api('PUT', `/projects/crash-cache/keys/keys/${id}/`, tokens.write!, { name: 'changed', rateLimit: { window: 86401, count: 5 } })).status).toBe(400);
    expect((await api('PUT', `/projects/crash-cache/keys/keys/${id}/`, tokens.write!, { isActive: 'yes' })).status).toBe(400);
    expect((await api('GET', `/projects/crash-cache/keys/keys/${id}/`, tokens.read!)).json.name).toBe('Backend 2');

    expect((await api('DELETE', `/projects/crash-cache/keys/keys/${id}/`, tokens.write!)).status).toBe(403);
    expect((await api('DELETE', `/projects/crash-cache/keys/keys/${id}/`, tokens.admin!)).status).toBe(204);
    expect((await api('GET', `/projects/crash-cache/keys/keys/${id}/`, tokens.read!)).status).toBe(404);
    // A key of another project is not found through this one.
    expect((await api('GET', `/projects/crash-cache/web-shop/keys/${first}/`, tokens.read!)).status).toBe(404);
  });

  it('a disabled key is refused at ingest (403 disabled_key, recorded); enabled again it is accepted', async () => {
    expect((await errorEvent(projectId, first, 'before')).status).toBe(200);
    expect((await api('PUT', `/projects/crash-cache/keys/keys/${first}/`, tokens.write!, { isActive: false })).status).toBe(200);
    const r = await errorEvent(projectId, first, 'while disabled');
    expect(r.status).toBe(403);
    expect(r.json.detail).toMatch(/disabled/);
    await until('the disabled_key outcome', async () => (await outcomes(projectId, 'disabled_key')) === 1);
    await api('PUT', `/projects/crash-cache/keys/keys/${first}/`, tokens.write!, { isActive: true });
    expect((await errorEvent(projectId, first, 'after')).status).toBe(200);
  });

  it('a key\'s rate limit refuses error events past its count with 429 (key scope), recorded as key_rate_limit; sessions still pass', async () => {
    const c = await api('POST', '/projects/crash-cache/keys/keys/', tokens.write!, { name: 'Limited', rateLimit: { window: 3600, count: 3 } });
    const key = c.json.id as string;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await errorEvent(projectId, key, `limited ${i}`));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers[3]!.headers['x-sentry-rate-limits']).toMatch(/^\d+:error:key:key_rate_limit$/);
    expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await until('the key_rate_limit outcomes', async () => (await outcomes(projectId, 'key_rate_limit')) === 2);
    // A session is no error event: the key's limit does not count it.
    const sid = randomUUID();
    const session = JSON.stringify({ sid, init: true, started: new Date().toISOString(), status: 'ok', attrs: { release: 'app@1' } });
    expect((await ingest(projectId, key, envelope(hex(), [[{ type: 'session' }, session]]))).status).toBe(200);
    // Another key of the project has its own bucket.
    expect((await errorEvent(projectId, first, 'other key')).status).toBe(200);
  });
});

describe('deleting a project', () => {
  it('needs project:admin, then deletes everything the project owned from every table (204), and ingest no longer knows it', async () => {
    const created = await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Doomed' });
    const id = Number(created.json.id);
    const key = created.json ? (await api('GET', '/projects/crash-cache/doomed/keys/', tokens.read!)).json[0].id : '';
    const keep = await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Kept' });
    const keepId = Number(keep.json.id);
    const keepKey = (await api('GET', '/projects/crash-cache/kept/keys/', tokens.read!)).json[0].id;

    // An alert rule (its notifications are queued for the new issues below).
    const rule = await api('POST', '/projects/crash-cache/doomed/rules/', tokens.write!, { name: 'r', actionMatch: 'any', conditions: [{ id: 'sentry.rules.conditions.first_seen_event.FirstSeenEventCondition' }], actions: [{ id: 'sentry.mail.actions.NotifyEmailAction', targetType: 'ProjectMembers' }] });
    expect(rule.status, JSON.stringify(rule.json)).toBe(201);
    // Events, an attachment, feedback, a session, a check-in, a client report, a transaction, an
    // unreadable item: a bit of every table the digest writes. More payloads than a batch (3).
    for (let i = 0; i < 7; i++) {
      const eid = hex();
      const items: [Record<string, unknown>, string][] = [
        [{ type: 'event' }, JSON.stringify({ event_id: eid, message: `boom ${i % 3}`, level: 'error', platform: 'node', release: 'app@1', environment: 'prod', user: { id: `u${i}` }, tags: { k: `v${i}` } })],
        [{ type: 'attachment', filename: 'log.txt' }, `log ${i}`],
        [{ type: 'user_report' }, JSON.stringify({ event_id: eid, name: 'A', email: 'a@example.com', comments: 'broke' })],
        [{ type: 'session' }, JSON.stringify({ sid: randomUUID(), did: `u${i}`, init: true, started: new Date().toISOString(), status: 'exited', attrs: { release: 'app@1', environment: 'prod' } })],
        [{ type: 'check_in' }, JSON.stringify({ check_in_id: hex(), monitor_slug: 'nightly', status: i === 0 ? 'error' : 'ok' })],
        [{ type: 'client_report' }, JSON.stringify({ timestamp: Date.now() / 1000, discarded_events: [{ reason: 'queue_overflow', category: 'error', quantity: 2 }] })],
        [{ type: 'transaction' }, JSON.stringify({ event_id: hex(), type: 'transaction', transaction: '/t', start_timestamp: Date.now() / 1000 - 1, timestamp: Date.now() / 1000, contexts: { trace: { trace_id: hex(), span_id: hex().slice(0, 16) } } })],
      ];
      if (i === 0) items.push([{ type: 'event' }, '{not json']);
      expect((await ingest(id, key, envelope(eid, items))).status).toBe(200);
      expect((await errorEvent(keepId, keepKey, `kept ${i}`)).status).toBe(200);
    }
    // A refused request (an outcome of the project).
    expect((await send(`${server.url}/api/${id}/store/?sentry_key=nosuchkey`, { body: '{}' })).status).toBe(401);
    await until('the digest to finish', async () => (await db.pool.query(UNDIGESTED_SQL)).rows[0].n === 0 && (await db.pool.query('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [id])).rows[0].n >= 7);
    await until('the outcome', async () => (await db.pool.query('SELECT 1 FROM outcome WHERE project_id = $1', [id])).rowCount! > 0);
    const before = await rowsOf(id);
    for (const t of ['archive', 'report', 'issue', 'issue_hash', 'issue_tag', 'issue_user', 'attachment', 'user_report', 'session_state', 'session_hourly', 'check_in', 'client_report_hourly', 'item_count_hourly', 'item_invalid', 'alert_rule', 'alert_outbox', 'outcome', 'project_key', 'tag_value', 'project_dim', 'project']) {
      expect(before[t], t).toBeGreaterThan(0);
    }
    const keptBefore = await rowsOf(keepId);

    expect((await api('DELETE', '/projects/crash-cache/doomed/', tokens.write!)).status).toBe(403);
    expect((await rowsOf(id)).project).toBe(1);
    const del = await fetch(`${server.url}/api/0/projects/crash-cache/doomed/`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(del.status).toBe(204);

    const after = await rowsOf(id);
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
    // The other project is untouched, and the deletion is recorded (kind project), with its counts.
    expect(await rowsOf(keepId)).toEqual(keptBefore);
    const { rows: record } = await db.pool.query("SELECT sum(events)::int AS events, sum(payloads)::int AS payloads, sum(rows)::int AS rows FROM retention_deletion WHERE project_id = $1 AND kind = 'project'", [id]);
    expect(record[0].payloads).toBe(before.archive);
    expect(record[0].events).toBeGreaterThanOrEqual(7);
    expect(record[0].rows).toBeGreaterThan(0);
    expect(server.logs.some((l) => l.includes('"project deleted"') && l.includes(`"project_id":${id}`) && l.includes('"by":"token'))).toBe(true);

    expect((await api('GET', '/projects/crash-cache/doomed/', tokens.read!)).status).toBe(404);
    expect((await errorEvent(id, key, 'after')).status).toBe(404);
    // Its slug is free again.
    expect((await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Doomed' })).json.slug).toBe('doomed');
  });
});

/** Required properties of `schema` (OpenAPI, dereferenced) missing from `value`, as dotted paths; arrays: their first item. */
function missing(schema: any, value: any, at = ''): string[] {
  if (!schema || value === null || value === undefined) return [];
  if (schema.type === 'array') return Array.isArray(value) && value.length ? missing(schema.items, value[0], `${at}[0]`) : [];
  if (schema.type !== 'object' || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const k of schema.required ?? []) if (!(k in value)) out.push(`${at}${k}`);
  for (const [k, sub] of Object.entries(schema.properties ?? {})) if (k in value) out.push(...missing(sub, value[k], `${at}${k}.`));
  return out;
}

describeShared('sentry-openapi', "Sentry's OpenAPI schema", (dir) => {
  const doc = JSON.parse(readFileSync(join(dir, 'openapi-derefed.json'), 'utf8'));
  const schema = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;
  const P = '/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}';
  // DSNs of endpoints crash-cache does not serve are left out rather than pointing nowhere.
  const NOT_SERVED = ['dsn.integration', 'dsn.otlp_traces', 'dsn.otlp_logs', 'dsn.playstation'];

  it('teams and keys answer every property Sentry declares required', async () => {
    await api('POST', '/teams/crash-cache/crash-cache/projects/', tokens.write!, { name: 'Schema' });
    const created = await api('POST', '/projects/crash-cache/schema/keys/', tokens.write!, { name: 'k', rateLimit: { window: 60, count: 1 } });
    const teams = await api('GET', '/organizations/crash-cache/teams/', tokens.read!);
    // The team's own properties (its projects are the project serializer's, as GET …/projects/ sends them).
    expect(missing(schema('/api/0/organizations/{organization_id_or_slug}/teams/', 'get', '200'), teams.json).filter((m) => !m.startsWith('[0]projects.'))).toEqual([]);
    expect(missing(schema(`${P}/keys/`, 'post', '201'), created.json).filter((m) => !NOT_SERVED.includes(m))).toEqual([]);
    const list = await api('GET', '/projects/crash-cache/schema/keys/', tokens.read!);
    expect(missing(schema(`${P}/keys/`, 'get', '200'), list.json).filter((m) => !NOT_SERVED.includes(m.replace('[0]', '')))).toEqual([]);
    const one = await api('PUT', `/projects/crash-cache/schema/keys/${created.json.id}/`, tokens.write!, { isActive: false });
    expect(missing(schema(`${P}/keys/{key_id}/`, 'put', '200'), one.json).filter((m) => !NOT_SERVED.includes(m))).toEqual([]);
    expect(one.json.rateLimit).toEqual({ window: 60, count: 1 });
  });
});
