import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetentionPass } from '../../src/archive/retention/pass.js';
import { createLogger } from '../../src/log.js';
import { deleteProject, markProjectDeleted } from '../../src/storage/project-delete.js';
import { createProject, getProject, listProjects } from '../../src/storage/projects.js';
import { seedIssue } from '../api/seed.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';

// Deleting a project on real PostgreSQL, without a server: rows in the tables that have no foreign key
// to project (issue_delta, alert_issue_minute, per-issue tables) go too; batches are bounded and
// recorded; a deletion interrupted after its mark is finished by a retention pass.

let db: TestDatabase;
const log = createLogger('error');

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** A project with issues, reports, and rows in tables without a foreign key to project. */
async function populated(name: string): Promise<number> {
  const { project } = await createProject(db.pool, { name });
  const id = Number(project.id);
  const t = new Date(Date.now() - 3_600_000);
  for (let i = 0; i < 5; i++) {
    const issue = await seedIssue(db.pool, id, { title: `Error: ${i}`, firstSeen: t, lastSeen: t, events: 3, tags: { release: 'app@1', environment: 'prod' } });
    await db.pool.query(
      `INSERT INTO issue_delta (project_id, issue_id, events, users, first_seen, last_seen, last_event_id, last_received, tag_ids, tag_counts, tag_first, tag_last)
       VALUES ($1, $2, 1, 0, 0, 0, gen_random_uuid(), 0, '{}', '{}', '{}', '{}')`, [id, issue.id]);
    await db.pool.query("INSERT INTO alert_issue_minute (project_id, issue_id, minute, events, users) VALUES ($1, $2, date_trunc('minute', now()), 1, 0)", [id, issue.id]);
    await db.pool.query("INSERT INTO issue_activity (project_id, issue_id, type) VALUES ($1, $2, 'resolved')", [id, issue.id]);
  }
  return id;
}

async function count(table: string, projectId: number): Promise<number> {
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE project_id = $1`, [projectId]);
  return rows[0].n;
}

const NO_FK = ['issue_delta', 'alert_issue_minute', 'issue_activity', 'issue', 'report', 'issue_tag', 'issue_hash', 'tag_value', 'project_dim'];

describe('deleteProject', () => {
  it('deletes in batches every row of the project, tables without a foreign key too, and records it', async () => {
    const id = await populated('batched');
    const other = await populated('other');
    for (const t of NO_FK) expect(await count(t, id), t).toBeGreaterThan(0);
    const r = await deleteProject(db.pool, id, { batchSize: 2, log, by: 'test' });
    expect(r).toMatchObject({ id, slug: 'batched', name: 'batched', complete: true });
    for (const t of NO_FK) expect(await count(t, id), t).toBe(0);
    expect((await db.pool.query('SELECT 1 FROM project WHERE id = $1', [id])).rowCount).toBe(0);
    for (const t of NO_FK) expect(await count(t, other), t).toBeGreaterThan(0);
    // Batches of 2: several transactions, all recorded under the kind `project`.
    const { rows } = await db.pool.query("SELECT events::int, rows::int FROM retention_deletion WHERE project_id = $1 AND kind = 'project'", [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].events).toBe(15);
    expect(rows[0].rows).toBe(r!.deleted.rows);
    expect(r!.deleted.rows).toBeGreaterThan(20);
    expect(await deleteProject(db.pool, id)).toBe(null);
  });

  it('hides the project and frees its slug at the mark; a retention pass finishes a deletion that was interrupted', async () => {
    const id = await populated('interrupted');
    const marked = await markProjectDeleted(db.pool, id);
    expect(marked).toEqual({ id, slug: 'interrupted', name: 'interrupted' });
    expect(await markProjectDeleted(db.pool, id)).toBe(null);
    // Gone from every lookup at once, disabled for ingest, its slug free for a new project.
    expect(await getProject(db.pool, 'interrupted')).toBe(null);
    expect(await getProject(db.pool, id)).toBe(null);
    expect((await listProjects(db.pool)).map((p) => p.id)).not.toContain(id);
    expect((await db.pool.query('SELECT disabled FROM project WHERE id = $1', [id])).rows[0].disabled).toBe(true);
    expect((await createProject(db.pool, { name: 'interrupted' })).project.slug).toBe('interrupted');
    // The process died here. A retention pass finds the mark and deletes the rest.
    expect(await count('issue', id)).toBe(5);
    const pass = await runRetentionPass(db.pool, { defaultDays: 90, sourcemapDays: 90, batchSize: 3, lowWaterPercent: 85 });
    expect(pass!.deleted.filter((d) => d.kind === 'project').map((d) => d.projectId)).toEqual([id]);
    for (const t of NO_FK) expect(await count(t, id), t).toBe(0);
    expect((await db.pool.query('SELECT 1 FROM project WHERE id = $1', [id])).rowCount).toBe(0);
  });

  it('the CLI renames with the same function and deletes through the same batches', async () => {
    const id = await populated('cli');
    const env = { DATABASE_URL: db.url };
    expect(await cli(['project', 'update', String(id), '--name', 'Renamed by CLI', '--platform', 'go'], env)).toMatch(/updated: name "Renamed by CLI", platform "go"/);
    expect((await db.pool.query('SELECT name, slug, platform FROM project WHERE id = $1', [id])).rows[0]).toEqual({ name: 'Renamed by CLI', slug: 'cli', platform: 'go' });
    await expect(cli(['project', 'update', String(id), '--name', ' '], env)).rejects.toThrow(/name must not be empty/);
    expect(await cli(['project', 'delete', String(id), '--yes'], env)).toMatch(/Deleted project \d+ "Renamed by CLI" .*\(15 events, 0 payloads, \d+ other rows\)/);
    for (const t of NO_FK) expect(await count(t, id), t).toBe(0);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM retention_deletion WHERE project_id = $1 AND kind = 'project'", [id])).rows[0].n).toBe(1);
  });
});
