import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/ingest/group-commit.js';
import type { NewArchiveRow as ArchiveRow } from '../../src/archive/row.js';
import type { Logger } from '../../src/log.js';
import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

// The group committer with several statements in flight (INGEST_COMMITS_IN_FLIGHT): every request
// settles with its own batch, identical payloads are stored once, a bad row fails alone, and the
// statements really run at the same time (both seen waiting on one lock).

let db: TestDatabase;
let projectId: number;
const quiet = { error() {}, warn() {}, info() {}, debug() {} } as unknown as Logger;

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'group-commit' })).project.id;
});
afterAll(async () => {
  await db?.drop();
});

function row(payload: Buffer, eventId = randomBytes(16).toString('hex')): ArchiveRow {
  return { projectId, sha256: createHash('sha256').update(payload).digest(), kind: 'envelope', encoding: 'br', eventId, rawSize: payload.length * 4, meta: { ip: '127.0.0.1' }, payload };
}

const count = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql, [projectId])).rows[0]!.n);

describe('GroupCommitter, two statements in flight', () => {
  it('settles every request, stores identical payloads once and fails only the bad row', async () => {
    const before = await count('SELECT count(*) AS n FROM archive WHERE project_id = $1');
    const committer = new GroupCommitter(db.pool, 7, quiet, () => {}, 30_000, 2);
    const twice = randomBytes(500);
    const rows = [...Array.from({ length: 60 }, () => row(randomBytes(500))), row(twice), row(twice)];
    const results = await Promise.allSettled([...rows.map((r) => committer.submit(r)), committer.submit(row(randomBytes(500), 'not-a-uuid-at-all-0123456789abcd'))]);
    await committer.close();
    expect(results.slice(0, -1).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results.at(-1)!.status).toBe('rejected');
    expect((await count('SELECT count(*) AS n FROM archive WHERE project_id = $1')) - before).toBe(61);
    expect(await count('SELECT count(*) AS n FROM archive a WHERE project_id = $1 AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.archive_id = a.id)')).toBe(0);
  });

  it('runs the next batch while the previous one has not committed', async () => {
    const committer = new GroupCommitter(db.pool, 1, quiet, () => {}, 30_000, 2);
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE queue IN EXCLUSIVE MODE');
      const done = [committer.submit(row(randomBytes(100))), committer.submit(row(randomBytes(100))), committer.submit(row(randomBytes(100)))];
      // Both statements reach the lock; the third row waits for a free slot.
      let waiting = 0;
      for (let i = 0; i < 200 && waiting < 2; i++) {
        await new Promise((r) => setTimeout(r, 25));
        waiting = await count("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO archive%' AND $1::bigint IS NOT NULL");
      }
      expect(waiting).toBe(2);
      expect(committer.waiting).toBe(1);
      await blocker.query('COMMIT');
      await Promise.all(done);
    } finally {
      blocker.release();
      await committer.close();
    }
  });

  it('keeps a statement under its byte bound, a larger payload going alone', async () => {
    const before = await count('SELECT count(*) AS n FROM archive WHERE project_id = $1');
    let commits = 0;
    const committer = new GroupCommitter(db.pool, 100, quiet, () => commits++, 30_000, 1, 1000);
    const rows = [...Array.from({ length: 10 }, () => row(randomBytes(400))), row(randomBytes(3000))];
    await Promise.all(rows.map((r) => committer.submit(r)));
    await committer.close();
    expect((await count('SELECT count(*) AS n FROM archive WHERE project_id = $1')) - before).toBe(11);
    // Two 400-byte payloads fit under 1000 bytes, three do not: at least 5 statements for the ten, 1 for the large one
    // (the row bound alone, 100, would have made 2: the first row, then the rest).
    expect(commits).toBeGreaterThanOrEqual(6);
    // Each row got its own bytes and hash out of the statement's two shared parameters.
    const { rows: stored } = await db.pool.query<{ sha256: Buffer; payload: Buffer; stored_size: number }>('SELECT sha256, payload, stored_size FROM archive WHERE project_id = $1 AND sha256 = ANY($2::bytea[])', [projectId, rows.map((r) => r.sha256)]);
    expect(stored).toHaveLength(11);
    for (const s of stored) {
      const sent = rows.find((r) => r.sha256.equals(s.sha256))!;
      expect(s.payload.equals(sent.payload)).toBe(true);
      expect(s.stored_size).toBe(sent.payload.length);
    }
  });
});
