import { createHash } from 'node:crypto';
import type pg from 'pg';
import { isObj, MAX_FUTURE_SECS, parseTimestamp, str, type Json } from '../protocol/event.js';
import { clean, DimRequest } from './dims.js';

// Release health (protocol §10). Individual `session` updates go through session_state so that a
// later update (higher seq, then later timestamp) wins and a terminal status (exited, crashed,
// abnormal) is final; each session is counted once in session_hourly at the hour it started:
// total on its init update, errored / crashed / abnormal / exited on the first update that makes
// it so. `sessions` aggregates are added to the hourly counts directly. Users are hashed `did`s.

// `unhandled` (newer SDKs, e.g. @sentry/browser 11): ended by an unhandled error that did not
// crash the app — final and errored, but not crashed.
const TERMINAL = new Set(['exited', 'crashed', 'abnormal', 'unhandled']);
const STATUSES = new Set(['ok', 'exited', 'crashed', 'abnormal', 'errored', 'unhandled']);
/** Updates more than 5 days after `started` are not applied (Relay's max_session_secs_in_past). */
const MAX_SESSION_AGE_SECS = 5 * 86400;

export interface SessionUpdate {
  projectId: number;
  sid: string;
  did: string | null;
  init: boolean;
  seq: number;
  timestamp: number;
  started: number;
  status: string;
  errors: number;
  release: string;
  environment: string;
}

export interface SessionAggregate {
  projectId: number;
  started: number;
  did: string | null;
  exited: number;
  errored: number;
  abnormal: number;
  unhandled: number;
  crashed: number;
  release: string;
  environment: string;
}

export class SessionError extends Error {}

function uuidHex(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
}
// Counts and times are bounded before they reach an integer or timestamp column: an SDK's 1e300
// (or a fuzzer's) failed the whole batch ("invalid input syntax for type bigint", "timestamp out of range").
const MAX_COUNT = 0x7fffffff;

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(Math.floor(v), MAX_COUNT) : 0;
}
function attrs(j: Json): { release: string; environment: string } {
  const a = isObj(j.attrs) ? j.attrs : {};
  const release = str(a.release)?.trim();
  if (!release) throw new SessionError('session without attrs.release');
  return { release: clean(release).slice(0, 200), environment: clean(str(a.environment)?.trim() || 'production').slice(0, 200) };
}

/** Reads one `session` item; throws SessionError with the reason when it cannot be used. */
export function parseSession(j: unknown, projectId: number, receivedAt: Date): SessionUpdate {
  if (!isObj(j)) throw new SessionError('session is not a JSON object');
  const { release, environment } = attrs(j);
  const received = receivedAt.getTime() / 1000;
  const started = parseTimestamp(j.started);
  if (started === null) throw new SessionError('session without a valid "started"');
  if (started > received + MAX_FUTURE_SECS) throw new SessionError('session started more than an hour after it was received');
  // An update's own time, within [started, received + 1 h]; the receive time when it has none.
  const sent = parseTimestamp(j.timestamp);
  const timestamp = sent === null || sent > received + MAX_FUTURE_SECS ? received : Math.max(sent, started);
  if (timestamp - started > MAX_SESSION_AGE_SECS) throw new SessionError('session update more than 5 days after it started');
  const status = str(j.status) ?? 'ok';
  if (!STATUSES.has(status)) throw new SessionError(`unknown session status ${JSON.stringify(status)}`);
  const init = j.init === true;
  // A session whose first state is already final may come without sid (protocol §10).
  const sid = uuidHex(j.sid) ?? (TERMINAL.has(status) ? createHash('md5').update(JSON.stringify(j)).digest('hex') : null);
  if (!sid) throw new SessionError('session without a valid "sid"');
  const seq = init ? 0 : Number.isSafeInteger(j.seq) && (j.seq as number) >= 0 ? (j.seq as number) : Math.floor(received * 1000);
  return { projectId, sid, did: str(j.did) ?? null, init, seq, timestamp, started, status, errors: count(j.errors), release, environment };
}

/** Reads one `sessions` item (aggregates); throws SessionError when it cannot be used. */
export function parseAggregates(j: unknown, projectId: number, receivedAt: Date): SessionAggregate[] {
  const received = receivedAt.getTime() / 1000;
  if (!isObj(j)) throw new SessionError('sessions item is not a JSON object');
  const { release, environment } = attrs(j);
  if (!Array.isArray(j.aggregates)) throw new SessionError('sessions item without "aggregates"');
  const out: SessionAggregate[] = [];
  for (const a of j.aggregates.slice(0, 100)) {
    if (!isObj(a)) continue;
    const started = parseTimestamp(a.started);
    // Not from the future, nor before 1970 (what a timestamp column can hold, and what an SDK can mean).
    if (started === null || started > received + MAX_FUTURE_SECS || started < 0) continue;
    out.push({ projectId, started, did: str(a.did) ?? null, exited: count(a.exited), errored: count(a.errored), abnormal: count(a.abnormal), unhandled: count(a.unhandled), crashed: count(a.crashed), release, environment });
  }
  return out;
}

/** 63-bit hash of a distinct id: user ids are not stored in clear. */
export function didHash(did: string): number {
  return Number(createHash('sha256').update(did).digest().readBigInt64BE(0) >> 11n);
}

const hourOf = (secs: number): number => Math.floor(secs / 3600) * 3600;

interface HourDelta { total: number; errored: number; crashed: number; abnormal: number; exited: number }

export function requestSessionDims(req: DimRequest, s: { projectId: number; release: string; environment: string }): void {
  req.refProject(s.projectId, 'release', s.release);
  req.refProject(s.projectId, 'environment', s.environment);
}

/** Applies updates and aggregates (in arrival order) inside the batch transaction. */
export async function storeSessions(client: pg.ClientBase, dims: DimRequest, updates: SessionUpdate[], aggregates: SessionAggregate[]): Promise<void> {
  const hours = new Map<string, { projectId: number; hour: number; rel: number; env: number; d: HourDelta }>();
  const users = new Map<string, { projectId: number; hour: number; rel: number; env: number; did: number; crashed: boolean }>();
  const bump = (projectId: number, hour: number, rel: number, env: number, d: Partial<HourDelta>) => {
    const k = `${projectId}/${hour}/${rel}/${env}`;
    let h = hours.get(k);
    if (!h) hours.set(k, (h = { projectId, hour, rel, env, d: { total: 0, errored: 0, crashed: 0, abnormal: 0, exited: 0 } }));
    for (const [f, n] of Object.entries(d)) h.d[f as keyof HourDelta] += n!;
  };
  const user = (projectId: number, hour: number, rel: number, env: number, did: string, crashed: boolean) => {
    const h = didHash(did);
    const k = `${projectId}/${hour}/${rel}/${env}/${h}`;
    const u = users.get(k);
    if (u) u.crashed ||= crashed;
    else users.set(k, { projectId, hour, rel, env, did: h, crashed });
  };
  const ids = (s: { projectId: number; release: string; environment: string }) => ({
    rel: dims.id(DimRequest.pkey(s.projectId, 'release', s.release))!,
    env: dims.id(DimRequest.pkey(s.projectId, 'environment', s.environment))!,
  });

  // Individual sessions: read the stored states of the batch's sids (locked, in sid order), apply
  // the updates in memory in arrival order, write the new states back with one upsert.
  if (updates.length) {
    const byProject = new Map<number, SessionUpdate[]>();
    for (const u of updates) (byProject.get(u.projectId) ?? byProject.set(u.projectId, []).get(u.projectId)!).push(u);
    for (const [projectId, list] of byProject) {
      const sids = [...new Set(list.map((u) => u.sid))].sort();
      const { rows } = await client.query<{ sid: string; started: Date; seq: number; did_hash: number | null; release_id: number; environment_id: number; errors: number; status: string; counted: boolean; errored: boolean; updated_at: Date }>(
        'SELECT * FROM session_state WHERE project_id = $1 AND sid = ANY($2::uuid[]) ORDER BY sid FOR UPDATE', [projectId, sids]);
      type State = { started: number; seq: number; rel: number; env: number; errors: number; status: string; counted: boolean; errored: boolean; updated: number; did: string | null; didHash: number | null; dirty: boolean };
      const states = new Map<string, State>();
      for (const r of rows) states.set(r.sid.replace(/-/g, ''), { started: r.started.getTime() / 1000, seq: r.seq, rel: r.release_id, env: r.environment_id, errors: r.errors, status: r.status, counted: r.counted, errored: r.errored, updated: r.updated_at.getTime() / 1000, did: null, didHash: r.did_hash, dirty: false });
      for (const u of list) {
        let st = states.get(u.sid);
        const { rel, env } = ids(u);
        // A final state takes no more updates, and an update older than the stored one is ignored —
        // except that a late `init` still counts the session once (updates can arrive out of order).
        if (st && (TERMINAL.has(st.status) || u.seq < st.seq || (u.seq === st.seq && u.timestamp < st.updated && !u.init))) {
          if (u.init && !st.counted) {
            st.counted = true;
            st.dirty = true;
            bump(projectId, hourOf(st.started), st.rel, st.env, { total: 1 });
          }
          continue;
        }
        if (!st) {
          st = { started: u.started, seq: u.seq, rel, env, errors: 0, status: 'ok', counted: false, errored: false, updated: u.timestamp, did: u.did, didHash: u.did ? didHash(u.did) : null, dirty: true };
          states.set(u.sid, st);
        }
        const hour = hourOf(st.started);
        const d: Partial<HourDelta> = {};
        if (u.init && !st.counted) {
          st.counted = true;
          d.total = 1;
        }
        const erroredNow = u.errors > 0 || u.status !== 'ok' && u.status !== 'exited';
        if (erroredNow && !st.errored) {
          st.errored = true;
          d.errored = 1;
        }
        if (u.status === 'crashed') d.crashed = 1;
        if (u.status === 'abnormal') d.abnormal = 1;
        if (u.status === 'exited') d.exited = 1;
        bump(projectId, hour, st.rel, st.env, d);
        const did = u.did ?? st.did;
        if (did) user(projectId, hour, st.rel, st.env, did, u.status === 'crashed');
        else if (st.didHash !== null && u.status === 'crashed') {
          const k = `${projectId}/${hour}/${st.rel}/${st.env}/${st.didHash}`;
          users.set(k, { projectId, hour, rel: st.rel, env: st.env, did: st.didHash, crashed: true });
        }
        st.seq = u.seq;
        st.updated = u.timestamp;
        st.errors = Math.max(st.errors, u.errors);
        st.status = u.status === 'errored' ? 'ok' : u.status;
        if (st.didHash === null && u.did) st.didHash = didHash(u.did);
        st.dirty = true;
      }
      const dirty = [...states].filter(([, s]) => s.dirty).sort(([a], [b]) => (a < b ? -1 : 1));
      if (dirty.length) {
        await client.query(
          `INSERT INTO session_state (project_id, sid, started, updated_at, seq, did_hash, release_id, environment_id, errors, status, counted, errored)
           SELECT $1, sid, to_timestamp(st), to_timestamp(up), seq, dh, rel, env, errs, status, counted, errored
             FROM unnest($2::uuid[], $3::float8[], $4::float8[], $5::bigint[], $6::bigint[], $7::int[], $8::int[], $9::int[], $10::text[], $11::bool[], $12::bool[])
                  AS v(sid, st, up, seq, dh, rel, env, errs, status, counted, errored)
           ON CONFLICT (project_id, sid) DO UPDATE SET updated_at = EXCLUDED.updated_at, seq = EXCLUDED.seq, did_hash = EXCLUDED.did_hash,
             errors = EXCLUDED.errors, status = EXCLUDED.status, counted = EXCLUDED.counted, errored = EXCLUDED.errored`,
          [projectId, dirty.map(([k]) => k), dirty.map(([, s]) => s.started), dirty.map(([, s]) => s.updated), dirty.map(([, s]) => s.seq),
            dirty.map(([, s]) => s.didHash), dirty.map(([, s]) => s.rel), dirty.map(([, s]) => s.env), dirty.map(([, s]) => s.errors),
            dirty.map(([, s]) => s.status), dirty.map(([, s]) => s.counted), dirty.map(([, s]) => s.errored)]);
      }
    }
  }

  for (const a of aggregates) {
    const { rel, env } = ids(a);
    const hour = hourOf(a.started);
    bump(a.projectId, hour, rel, env, {
      total: a.exited + a.errored + a.abnormal + a.unhandled + a.crashed,
      errored: a.errored + a.abnormal + a.unhandled + a.crashed,
      crashed: a.crashed,
      abnormal: a.abnormal,
      exited: a.exited + a.errored,
    });
    if (a.did) user(a.projectId, hour, rel, env, a.did, a.crashed > 0);
  }

  const hs = [...hours.values()].sort((a, b) => a.projectId - b.projectId || a.hour - b.hour || a.rel - b.rel || a.env - b.env);
  if (hs.length) {
    await client.query(
      `INSERT INTO session_hourly (project_id, hour, release_id, environment_id, total, errored, crashed, abnormal, exited)
       SELECT p, to_timestamp(h), r, e, t, er, c, ab, ex FROM unnest($1::bigint[], $2::float8[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
            AS v(p, h, r, e, t, er, c, ab, ex)
       ON CONFLICT (project_id, hour, release_id, environment_id) DO UPDATE SET total = session_hourly.total + EXCLUDED.total,
         errored = session_hourly.errored + EXCLUDED.errored, crashed = session_hourly.crashed + EXCLUDED.crashed,
         abnormal = session_hourly.abnormal + EXCLUDED.abnormal, exited = session_hourly.exited + EXCLUDED.exited`,
      [hs.map((h) => h.projectId), hs.map((h) => h.hour), hs.map((h) => h.rel), hs.map((h) => h.env), hs.map((h) => h.d.total),
        hs.map((h) => h.d.errored), hs.map((h) => h.d.crashed), hs.map((h) => h.d.abnormal), hs.map((h) => h.d.exited)]);
  }
  const us = [...users.values()].sort((a, b) => a.projectId - b.projectId || a.hour - b.hour || a.rel - b.rel || a.env - b.env || a.did - b.did);
  if (us.length) {
    await client.query(
      `INSERT INTO session_user_hourly (project_id, hour, release_id, environment_id, did_hash, crashed)
       SELECT p, to_timestamp(h), r, e, d, c FROM unnest($1::bigint[], $2::float8[], $3::int[], $4::int[], $5::bigint[], $6::bool[]) AS v(p, h, r, e, d, c)
       ON CONFLICT (project_id, hour, release_id, environment_id, did_hash) DO UPDATE SET crashed = session_user_hourly.crashed OR EXCLUDED.crashed`,
      [us.map((u) => u.projectId), us.map((u) => u.hour), us.map((u) => u.rel), us.map((u) => u.env), us.map((u) => u.did), us.map((u) => u.crashed)]);
  }
}
