import type pg from 'pg';

// What the issue serializer adds from collaboration, for a page of issues and the asking user:
// `assignedTo`, `isBookmarked` and `isSubscribed` (for the asking user), `numComments`. One query per page.
// Subscribed, as Sentry counts it: the user's own choice (issue_subscription) when they made one, else
// whether they take part (assignee, commenter, bookmarker) — the participants src/notices/queue.ts
// e-mails about its comments (a change to one is a change to the other).

export interface CollabFacts {
  assignee: { id: number; email: string } | null;
  bookmarked: boolean;
  subscribed: boolean;
  numComments: number;
}

export async function collabFacts(db: pg.Pool | pg.ClientBase, issues: { project_id: number; id: number }[], userId: number | null): Promise<Map<number, CollabFacts>> {
  const out = new Map<number, CollabFacts>();
  if (!issues.length) return out;
  const { rows } = await db.query<{ id: string; assignee_id: string | null; assignee_email: string | null; bookmarked: boolean; subscribed: boolean; comments: number }>(
    `SELECT t.i AS id, u.id AS assignee_id, u.email AS assignee_email, b.bookmarked, n.comments,
            coalesce(s.subscribed, a.user_id = $3 OR b.bookmarked OR n.mine, false) AS subscribed
       FROM unnest($1::bigint[], $2::bigint[]) AS t(p, i)
       LEFT JOIN issue_assignee a ON a.project_id = t.p AND a.issue_id = t.i
       LEFT JOIN ui_user u ON u.id = a.user_id
       LEFT JOIN issue_subscription s ON s.project_id = t.p AND s.issue_id = t.i AND s.user_id = $3
       CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM issue_bookmark x WHERE x.project_id = t.p AND x.issue_id = t.i AND x.user_id = $3) AS bookmarked) b
       -- the issue's comments, counted, and whether the user wrote one, in one pass
       CROSS JOIN LATERAL (SELECT count(*)::int AS comments, coalesce(bool_or(x.user_id = $3), false) AS mine
                             FROM issue_activity x WHERE x.issue_id = t.i AND x.project_id = t.p AND x.type = 'note') n`,
    [issues.map((i) => i.project_id), issues.map((i) => i.id), userId],
  );
  for (const r of rows) {
    out.set(Number(r.id), {
      assignee: r.assignee_id !== null ? { id: Number(r.assignee_id), email: r.assignee_email! } : null,
      bookmarked: r.bookmarked,
      subscribed: r.subscribed,
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
    isSubscribed: f?.subscribed ?? false,
    numComments: f?.numComments ?? 0,
  };
}
