import type pg from 'pg';

// What the issue serializer adds from collaboration, for a page of issues and the asking user:
// `assignedTo`, `isBookmarked` (by the asking user), `numComments`. One query per page.

export interface CollabFacts {
  assignee: { id: number; email: string } | null;
  bookmarked: boolean;
  numComments: number;
}

export async function collabFacts(db: pg.Pool | pg.ClientBase, issues: { project_id: number; id: number }[], userId: number | null): Promise<Map<number, CollabFacts>> {
  const out = new Map<number, CollabFacts>();
  if (!issues.length) return out;
  const { rows } = await db.query<{ id: string; assignee_id: string | null; assignee_email: string | null; bookmarked: boolean; comments: number }>(
    `SELECT t.i AS id, u.id AS assignee_id, u.email AS assignee_email,
            EXISTS (SELECT 1 FROM issue_bookmark b WHERE b.project_id = t.p AND b.issue_id = t.i AND b.user_id = $3) AS bookmarked,
            (SELECT count(*) FROM issue_activity x WHERE x.issue_id = t.i AND x.project_id = t.p AND x.type = 'note')::int AS comments
       FROM unnest($1::bigint[], $2::bigint[]) AS t(p, i)
       LEFT JOIN issue_assignee a ON a.project_id = t.p AND a.issue_id = t.i
       LEFT JOIN ui_user u ON u.id = a.user_id`,
    [issues.map((i) => i.project_id), issues.map((i) => i.id), userId],
  );
  for (const r of rows) {
    out.set(Number(r.id), {
      assignee: r.assignee_id !== null ? { id: Number(r.assignee_id), email: r.assignee_email! } : null,
      bookmarked: r.bookmarked,
      numComments: r.comments,
    });
  }
  return out;
}

/** Sentry's issue fields for these facts (the "nothing" values when there are none). */
export function collabJson(f: CollabFacts | undefined) {
  return {
    assignedTo: f?.assignee ? { type: 'user', id: String(f.assignee.id), name: f.assignee.email, email: f.assignee.email } : null,
    isBookmarked: f?.bookmarked ?? false,
    numComments: f?.numComments ?? 0,
  };
}
