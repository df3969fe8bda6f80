import type pg from 'pg';
import { HttpError } from '../../http/errors.js';
import { transaction } from '../../storage/transaction.js';
import { ISSUE_CHILD_TABLES } from '../../storage/issue-children.js';
import { DIGEST_LOCK } from '../../digest/batch.js';
import { foldIssueCounters } from '../../digest/fold.js';
import { explainFromArchive } from '../../digest/explain.js';
import { loadEvent } from '../../digest/load-event.js';
import { recordActivity } from '../../activity/record.js';

// Merging issues and splitting fingerprints back out (Sentry's bulk `{"merge": 1}` and the issue's
// hashes endpoint). Both run in one transaction that holds the digest lock exclusively, as `ruminate`
// does: digest batches hold it shared, so a batch that looked a child's hash up before the merge has
// committed (its reports and deltas are there to be moved), and every batch after it finds the hash
// on its new issue — no event lands on an issue being deleted, and no fresh issue is made for a
// merged hash in between. The pending counter deltas are folded first, inside that transaction, so
// the counts combined are exact. The cost is a pause of the digest for the length of the transaction
// (it moves the children's report rows: one UPDATE through (project_id, issue_id, timestamp)).
//
// What a merge decides outlives `ruminate`, which rebuilds issue_hash from the archive: issue_merge
// keeps each merged hash → the primary hash of its issue, and the digest files a new event whose
// hashes are unknown under that key (src/digest/events.ts); issue_keep gives the parent its id back.

const HASH = /^[0-9a-f]{32}$/;

interface Locked { project_id: number; id: number; event_count: number; primary_hash: string }

/** Holds the digest lock exclusively and folds what batches have counted, in `client`'s transaction. */
async function pauseDigest(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [DIGEST_LOCK]);
  await foldIssueCounters(client);
}

/** Refuses what cannot be merged: fewer than two issues, or issues of more than one project. */
export function checkMergeable(issues: { project_id: number }[]): void {
  if (issues.length < 2) throw new HttpError('invalid_request', 'Merging needs at least two issues (id=…&id=…) of one project');
  if (new Set(issues.map((i) => Number(i.project_id))).size > 1) throw new HttpError('invalid_request', 'Merging across multiple projects is not supported');
}

/**
 * Merges the issues into the one with the most events (ties: the newest id), as Sentry picks its
 * primary group; returns the parent and the children, which are deleted.
 */
export async function mergeIssues(pool: pg.Pool, ids: number[], userId: number | null): Promise<{ projectId: number; parent: number; children: number[] }> {
  return transaction(pool, async (client) => {
    await pauseDigest(client);
    const { rows } = await client.query<Locked>(
      'SELECT project_id, id, event_count, primary_hash FROM issue WHERE id = ANY($1::bigint[]) ORDER BY project_id, id FOR UPDATE', [ids]);
    checkMergeable(rows);
    const [parent, ...children] = [...rows].sort((a, b) => Number(b.event_count) - Number(a.event_count) || Number(b.id) - Number(a.id));
    const pid = parent!.project_id;
    const p = parent!.id;
    const kids = children.map((c) => c.id);
    const kidHashes = children.map((c) => c.primary_hash);
    // The decision, kept for the digest and ruminate: what pointed at a child points at the parent.
    await client.query('UPDATE issue_merge SET target_hash = $2 WHERE project_id = $1 AND target_hash = ANY($3::text[])', [pid, parent!.primary_hash, kidHashes]);
    await client.query(
      `INSERT INTO issue_merge (project_id, hash, target_hash, source_hash)
       SELECT $1, h.hash, $2, i.primary_hash FROM issue_hash h JOIN issue i ON i.project_id = h.project_id AND i.id = h.issue_id
        WHERE h.project_id = $1 AND h.issue_id = ANY($3::bigint[])
       UNION SELECT $1, primary_hash, $2, primary_hash FROM issue WHERE project_id = $1 AND id = ANY($3::bigint[])
       ON CONFLICT (project_id, hash) DO UPDATE SET target_hash = EXCLUDED.target_hash, merged_at = now()`,
      [pid, parent!.primary_hash, kids]);
    await client.query('DELETE FROM issue_merge WHERE project_id = $1 AND hash = $2', [pid, parent!.primary_hash]);
    // Hashes and events move; an event digested before 0038 gets its issue's primary hash (unmerge reads it).
    await client.query('UPDATE issue_hash SET issue_id = $2 WHERE project_id = $1 AND issue_id = ANY($3::bigint[])', [pid, p, kids]);
    await client.query(
      `UPDATE report r SET issue_id = $2, primary_hash = coalesce(r.primary_hash, CASE WHEN i.primary_hash ~ '^[0-9a-f]{32}$' THEN i.primary_hash::uuid END)
         FROM issue i WHERE i.project_id = $1 AND i.id = ANY($3::bigint[]) AND r.project_id = $1 AND r.issue_id = i.id`,
      [pid, p, kids]);
    // Counts combine: users once each, tag counts added, times widened.
    await client.query(
      `INSERT INTO issue_user (project_id, issue_id, user_id)
       SELECT DISTINCT $1::bigint, $2::bigint, user_id FROM issue_user WHERE project_id = $1 AND issue_id = ANY($3::bigint[]) ORDER BY 3
       ON CONFLICT DO NOTHING`, [pid, p, kids]);
    await client.query(
      `INSERT INTO issue_tag AS it (project_id, issue_id, tag_value_id, count, first_seen, last_seen)
       SELECT $1, $2, tag_value_id, sum(count), min(first_seen), max(last_seen)
         FROM issue_tag WHERE project_id = $1 AND issue_id = ANY($3::bigint[]) GROUP BY tag_value_id ORDER BY tag_value_id
       ON CONFLICT (project_id, issue_id, tag_value_id) DO UPDATE SET count = it.count + EXCLUDED.count,
          first_seen = least(it.first_seen, EXCLUDED.first_seen), last_seen = greatest(it.last_seen, EXCLUDED.last_seen)`,
      [pid, p, kids]);
    await client.query(
      `UPDATE issue i SET event_count = a.n, first_seen = a.f, last_seen = a.l, last_received = a.r, first_event_id = a.fe, last_event_id = a.le,
              user_count = (SELECT count(*) FROM issue_user u WHERE u.project_id = $1 AND u.issue_id = $2)
         FROM (SELECT sum(event_count) AS n, min(first_seen) AS f, max(last_seen) AS l, max(last_received) AS r,
                      (array_agg(first_event_id ORDER BY first_seen))[1] AS fe, (array_agg(last_event_id ORDER BY last_seen DESC))[1] AS le
                 FROM issue WHERE project_id = $1 AND (id = $2 OR id = ANY($3::bigint[]))) a
        WHERE i.project_id = $1 AND i.id = $2`,
      [pid, p, kids]);
    // People's work moves to the parent: the children's history and comments, their bookmarks, their
    // e-mail subscriptions (where the parent has no choice of theirs; the latest child's), and an
    // assignee when the parent has none (the earliest assigned child's).
    await client.query('UPDATE issue_activity SET issue_id = $2 WHERE project_id = $1 AND issue_id = ANY($3::bigint[])', [pid, p, kids]);
    await client.query(
      `INSERT INTO issue_bookmark (project_id, issue_id, user_id, created_at)
       SELECT project_id, $2, user_id, min(created_at) FROM issue_bookmark WHERE project_id = $1 AND issue_id = ANY($3::bigint[])
        GROUP BY project_id, user_id
       ON CONFLICT DO NOTHING`, [pid, p, kids]);
    await client.query(
      `INSERT INTO issue_subscription (project_id, issue_id, user_id, subscribed, changed_at)
       SELECT DISTINCT ON (user_id) project_id, $2, user_id, subscribed, changed_at FROM issue_subscription
        WHERE project_id = $1 AND issue_id = ANY($3::bigint[]) ORDER BY user_id, changed_at DESC
       ON CONFLICT DO NOTHING`, [pid, p, kids]);
    await client.query(
      `INSERT INTO issue_assignee (project_id, issue_id, user_id, assigned_by, assigned_at)
       SELECT project_id, $2, user_id, assigned_by, assigned_at FROM issue_assignee WHERE project_id = $1 AND issue_id = ANY($3::bigint[])
        ORDER BY assigned_at LIMIT 1
       ON CONFLICT DO NOTHING`, [pid, p, kids]);
    // The children go, with their per-issue rows (their hashes have moved already).
    for (const t of ISSUE_CHILD_TABLES) await client.query(`DELETE FROM ${t} WHERE project_id = $1 AND issue_id = ANY($2::bigint[])`, [pid, kids]);
    await client.query('DELETE FROM issue WHERE project_id = $1 AND id = ANY($2::bigint[])', [pid, kids]);
    await recordActivity(client, { projectId: pid, issueId: p, userId, type: 'merge', data: { issues: kids.map((id) => ({ id: String(id) })) } });
    return { projectId: Number(pid), parent: Number(p), children: kids.map(Number) };
  });
}

/**
 * Splits fingerprints out of an issue into a new one, with the events whose primary hash is among
 * them (a fingerprint a merge brought in takes that issue's other hashes along). Returns the new
 * issue's id. The issue keeps its own primary hash.
 */
export async function unmergeHashes(pool: pg.Pool, issueId: number, wanted: string[], userId: number | null): Promise<{ projectId: number; source: number; destination: number; fingerprints: string[] }> {
  const asked = [...new Set(wanted.map((h) => h.toLowerCase()))];
  if (!asked.length) throw new HttpError('invalid_request', 'unmerge needs id=<hash> parameters');
  const bad = asked.find((h) => !HASH.test(h));
  if (bad !== undefined) throw new HttpError('invalid_request', `id must be a grouping hash (32 hex digits), got ${JSON.stringify(bad.slice(0, 64))}`);
  return transaction(pool, async (client) => {
    await pauseDigest(client);
    const { rows: [issue] } = await client.query<Locked & { grouping_config: string; title: string; culprit: string; metadata: unknown; type: string; level: string; platform: string }>(
      'SELECT project_id, id, event_count, primary_hash, grouping_config, title, culprit, metadata, type, level, platform FROM issue WHERE id = $1 FOR UPDATE', [issueId]);
    if (!issue) throw new HttpError('not_found', 'The requested resource does not exist');
    const pid = issue.project_id;
    if (asked.includes(issue.primary_hash)) throw new HttpError('invalid_request', `${issue.primary_hash} is the issue's own primary hash; it stays with the issue`);
    const { rows: own } = await client.query<{ hash: string }>('SELECT hash FROM issue_hash WHERE project_id = $1 AND issue_id = $2 AND hash = ANY($3::text[])', [pid, issue.id, asked]);
    const missing = asked.filter((h) => !own.some((r) => r.hash === h));
    if (missing.length) throw new HttpError('invalid_request', `not a hash of issue ${issue.id}: ${missing.join(', ')}`);
    // A merged fingerprint takes along the other hashes its issue brought.
    const { rows: along } = await client.query<{ hash: string }>(
      `SELECT m.hash FROM issue_merge m JOIN issue_hash h ON h.project_id = m.project_id AND h.hash = m.hash AND h.issue_id = $2
        WHERE m.project_id = $1 AND m.target_hash = $3 AND m.source_hash = ANY($4::text[]) AND m.hash <> $3`, [pid, issue.id, issue.primary_hash, asked]);
    const moving = [...new Set([...asked, ...along.map((r) => r.hash)])].sort();
    const moved = `r.project_id = $1 AND r.issue_id = $2 AND r.primary_hash = ANY($3::uuid[])`;
    const { rows: byHash } = await client.query<{ hash: string; n: number }>(
      `SELECT replace(r.primary_hash::text, '-', '') AS hash, count(*)::int AS n FROM report r WHERE ${moved} GROUP BY 1 ORDER BY 2 DESC, 1`, [pid, issue.id, moving]);
    if (!byHash.length) throw new HttpError('invalid_request', `no event of issue ${issue.id} has ${moving.length > 1 ? 'these fingerprints' : 'this fingerprint'} as its primary hash`);
    const key = byHash[0]!.hash;

    // The new issue, described by its first event (as the digest describes a new issue).
    const { rows: [first] } = await client.query<{ event_id: string; archive_id: number; item_index: number }>(
      `SELECT replace(r.event_id::text, '-', '') AS event_id, r.archive_id, r.item_index FROM report r WHERE ${moved} ORDER BY r.timestamp, r.id LIMIT 1`, [pid, issue.id, moving]);
    const ev = await loadEvent(client, pid, first!.event_id).catch(() => null);
    const explanation = await explainFromArchive(client, pid, first!.archive_id, first!.item_index, { config: issue.grouping_config, primaryHash: key, hashes: [key], explanation: null, error: null });
    const { rows: [short] } = await client.query<{ n: number }>('UPDATE project SET next_short_id = next_short_id + 1 WHERE id = $1 RETURNING next_short_id - 1 AS n', [pid]);
    const { rows: [created] } = await client.query<{ id: number }>(
      `INSERT INTO issue (project_id, short_id, first_seen, last_seen, last_received, first_event_id, last_event_id, status, substatus,
                          primary_hash, grouping_config, type, level, platform, title, culprit, metadata, grouping)
       SELECT $1, $2, min(r.timestamp), max(r.timestamp), max(r.received_at),
              (array_agg(r.event_id ORDER BY r.timestamp, r.id))[1], (array_agg(r.event_id ORDER BY r.timestamp DESC, r.id DESC))[1],
              'unresolved', 'new', $5, $6, $7, $8, $9, $10, $11, $12, $13
         FROM report r WHERE r.project_id = $1 AND r.issue_id = $3 AND r.primary_hash = ANY($4::uuid[])
       RETURNING id`,
      [pid, short!.n, issue.id, moving, key, issue.grouping_config, ev?.type ?? issue.type, ev?.level ?? issue.level, ev?.platform ?? issue.platform,
        ev?.title ?? issue.title, ev?.culprit ?? issue.culprit, JSON.stringify(ev?.metadata ?? issue.metadata ?? {}), explanation]);
    const dest = created!.id;

    await client.query(`UPDATE report r SET issue_id = $4 WHERE ${moved}`, [pid, issue.id, moving, dest]);
    await client.query('UPDATE issue_hash SET issue_id = $3 WHERE project_id = $1 AND hash = ANY($2::text[])', [pid, moving, dest]);
    // The split is kept as well: the moved hashes now lead to the new issue's key.
    const { rows: before } = await client.query<{ hash: string; source_hash: string }>('DELETE FROM issue_merge WHERE project_id = $1 AND hash = ANY($2::text[]) RETURNING hash, source_hash', [pid, moving]);
    const source = new Map(before.map((r) => [r.hash, r.source_hash]));
    const redirect = moving.filter((h) => h !== key);
    if (redirect.length) {
      await client.query(
        'INSERT INTO issue_merge (project_id, hash, target_hash, source_hash) SELECT $1, h, $2, s FROM unnest($3::text[], $4::text[]) AS v(h, s)',
        [pid, key, redirect, redirect.map((h) => source.get(h) ?? h)]);
    }
    await countDestination(client, pid, dest);
    await recountSource(client, pid, issue.id, dest);
    const fingerprints = asked;
    await recordActivity(client, { projectId: pid, issueId: issue.id, userId, type: 'unmerge_source', data: { fingerprints, destination_id: String(dest) } });
    await recordActivity(client, { projectId: pid, issueId: dest, userId, type: 'unmerge_destination', data: { fingerprints, source_id: String(issue.id) } });
    return { projectId: Number(pid), source: Number(issue.id), destination: Number(dest), fingerprints };
  });
}

/** The new issue's counts, users and tags, all from its (moved) events. */
async function countDestination(client: pg.ClientBase, pid: number, dest: number): Promise<void> {
  await client.query(
    `INSERT INTO issue_user (project_id, issue_id, user_id)
     SELECT DISTINCT $1::bigint, $2::bigint, user_id FROM report WHERE project_id = $1 AND issue_id = $2 AND user_id IS NOT NULL ORDER BY 3`, [pid, dest]);
  await client.query(
    `INSERT INTO issue_tag (project_id, issue_id, tag_value_id, count, first_seen, last_seen)
     SELECT $1, $2, t, count(*), min(r.timestamp), max(r.timestamp) FROM report r CROSS JOIN LATERAL unnest(r.tag_ids) AS t
      WHERE r.project_id = $1 AND r.issue_id = $2 GROUP BY t`, [pid, dest]);
  await client.query(
    `UPDATE issue SET event_count = (SELECT count(*) FROM report WHERE project_id = $1 AND issue_id = $2),
            user_count = (SELECT count(*) FROM issue_user WHERE project_id = $1 AND issue_id = $2)
      WHERE project_id = $1 AND id = $2`, [pid, dest]);
}

/**
 * The source loses what moved: its event and tag counts go down by the moved events' (its counters
 * may count events retention has deleted since, so they are not recounted from what is left), a
 * user stays only if one of its remaining events has them, and first/last seen (its own and each
 * tag's) are taken from the remaining events where the moved ones held them.
 */
async function recountSource(client: pg.ClientBase, pid: number, src: number, dest: number): Promise<void> {
  await client.query(
    `WITH moved AS (SELECT t, count(*) AS n, min(r.timestamp) AS f, max(r.timestamp) AS l FROM report r CROSS JOIN LATERAL unnest(r.tag_ids) AS t
                     WHERE r.project_id = $1 AND r.issue_id = $3 GROUP BY t),
          kept AS (SELECT t, min(r.timestamp) AS f, max(r.timestamp) AS l FROM report r CROSS JOIN LATERAL unnest(r.tag_ids) AS t
                    WHERE r.project_id = $1 AND r.issue_id = $2 AND t IN (SELECT t FROM moved) GROUP BY t)
     UPDATE issue_tag it SET count = it.count - moved.n,
            first_seen = CASE WHEN moved.f <= it.first_seen AND kept.f IS NOT NULL THEN kept.f ELSE it.first_seen END,
            last_seen = CASE WHEN moved.l >= it.last_seen AND kept.l IS NOT NULL THEN kept.l ELSE it.last_seen END
       FROM moved LEFT JOIN kept ON kept.t = moved.t
      WHERE it.project_id = $1 AND it.issue_id = $2 AND it.tag_value_id = moved.t`, [pid, src, dest]);
  await client.query('DELETE FROM issue_tag WHERE project_id = $1 AND issue_id = $2 AND count <= 0', [pid, src]);
  await client.query(
    `DELETE FROM issue_user u WHERE u.project_id = $1 AND u.issue_id = $2
        AND u.user_id IN (SELECT user_id FROM report WHERE project_id = $1 AND issue_id = $3 AND user_id IS NOT NULL)
        AND u.user_id NOT IN (SELECT user_id FROM report WHERE project_id = $1 AND issue_id = $2 AND user_id IS NOT NULL)`, [pid, src, dest]);
  await client.query(
    `WITH moved AS (SELECT count(*) AS n, min(timestamp) AS f, max(timestamp) AS l, max(received_at) AS r FROM report WHERE project_id = $1 AND issue_id = $3),
          kept AS (SELECT count(*) AS n, min(timestamp) AS f, max(timestamp) AS l, max(received_at) AS r,
                          (array_agg(event_id ORDER BY timestamp, id))[1] AS fe, (array_agg(event_id ORDER BY timestamp DESC, id DESC))[1] AS le
                     FROM report WHERE project_id = $1 AND issue_id = $2)
     UPDATE issue i SET event_count = greatest(i.event_count - moved.n, kept.n),
            user_count = (SELECT count(*) FROM issue_user u WHERE u.project_id = $1 AND u.issue_id = $2),
            first_seen = CASE WHEN moved.f <= i.first_seen AND kept.n > 0 THEN kept.f ELSE i.first_seen END,
            first_event_id = CASE WHEN moved.f <= i.first_seen AND kept.n > 0 THEN kept.fe ELSE i.first_event_id END,
            last_seen = CASE WHEN moved.l >= i.last_seen AND kept.n > 0 THEN kept.l ELSE i.last_seen END,
            last_event_id = CASE WHEN moved.l >= i.last_seen AND kept.n > 0 THEN kept.le ELSE i.last_event_id END,
            last_received = CASE WHEN moved.r >= i.last_received AND kept.n > 0 THEN kept.r ELSE i.last_received END
       FROM moved, kept
      WHERE i.project_id = $1 AND i.id = $2`, [pid, src, dest]);
}

/** An issue's fingerprints for the issue page: its own primary hash first, then those merges brought in. */
export async function issueFingerprints(pool: pg.Pool, projectId: number, issueId: number, primaryHash: string): Promise<{ hash: string; merged: boolean }[]> {
  const { rows } = await pool.query<{ hash: string }>(
    `SELECT DISTINCT m.source_hash AS hash FROM issue_merge m
      WHERE m.project_id = $1 AND m.target_hash = $3 AND m.source_hash <> $3
        AND EXISTS (SELECT 1 FROM issue_hash h WHERE h.project_id = m.project_id AND h.hash = m.source_hash AND h.issue_id = $2)
      ORDER BY 1`, [projectId, issueId, primaryHash]);
  return [{ hash: primaryHash, merged: false }, ...rows.map((r) => ({ hash: r.hash, merged: true }))];
}
