import type pg from 'pg';
import { userSeesProjectSql } from '../auth/access.js';
import type { Config } from '../config/index.js';

// Who is told of an activity entry (table notice_outbox, migrations/0046_issue_notices.sql), decided
// in the transaction that writes the entry, so an e-mail is owed exactly when the change committed:
// - 'assigned': the new assignee, unless they assigned it to themselves;
// - 'note' (a comment): the users it mentions (a word `@their-email`, as typed: the text split on white
//   space — one pass, nothing to backtrack — trailing punctuation trimmed, compared whole) and the issue's
//   participants as Sentry counts them (GroupSubscription's reasons assignee, comment, bookmark, and
//   an explicit subscription), but not the comment's author, nor a participant who unsubscribed from
//   the issue (issue_subscription, migrations/0050). src/collab/facts.ts shows the same set as isSubscribed.
// A recipient must still see the project and have this e-mail on (ui_user.email_workflow).
// One row per (entry, user): a user who is assignee and commenter is told once, for the first reason.

const QUEUE_SQL = `
  WITH a AS (SELECT id, project_id, issue_id, user_id, type, data FROM issue_activity
              WHERE id = ANY($1::bigint[]) AND type IN ('assigned', 'note')),
  r AS (
    SELECT a.id, (a.data ->> 'assignee')::bigint AS user_id, 'assigned' AS reason, 0 AS rank
      FROM a WHERE a.type = 'assigned' AND a.data ->> 'assignee' ~ '^[0-9]{1,18}$'
    UNION ALL
    SELECT a.id, u.id, 'mentioned', 0 FROM a CROSS JOIN LATERAL regexp_split_to_table(a.data ->> 'text', '\\s+') AS w(word)
      JOIN ui_user u ON lower(u.email) = lower(rtrim(substr(w.word, 2), '.,;:!?)'))
     WHERE a.type = 'note' AND w.word LIKE '@_%'
    UNION ALL
    SELECT a.id, x.user_id, 'assignee', 1 FROM a JOIN issue_assignee x ON x.project_id = a.project_id AND x.issue_id = a.issue_id
     WHERE a.type = 'note'
    UNION ALL
    SELECT a.id, n.user_id, 'commented', 2 FROM a JOIN issue_activity n ON n.issue_id = a.issue_id AND n.project_id = a.project_id
     WHERE a.type = 'note' AND n.type = 'note' AND n.id < a.id AND n.user_id IS NOT NULL
    UNION ALL
    SELECT a.id, b.user_id, 'bookmarked', 3 FROM a JOIN issue_bookmark b ON b.project_id = a.project_id AND b.issue_id = a.issue_id
     WHERE a.type = 'note'
    UNION ALL
    SELECT a.id, s.user_id, 'subscribed', 4 FROM a JOIN issue_subscription s ON s.project_id = a.project_id AND s.issue_id = a.issue_id
     WHERE a.type = 'note' AND s.subscribed)
  INSERT INTO notice_outbox (activity_id, user_id, project_id, reason)
  SELECT DISTINCT ON (a.id, u.id) a.id, u.id, a.project_id, r.reason
    FROM r JOIN a ON a.id = r.id JOIN ui_user u ON u.id = r.user_id
   WHERE r.user_id IS DISTINCT FROM a.user_id AND u.email_workflow AND ${userSeesProjectSql('u', 'a.project_id')}
     -- unsubscribed from this issue: out of its participants (an assignment or a mention is still told)
     AND (r.rank = 0 OR NOT EXISTS (SELECT 1 FROM issue_subscription s
                                     WHERE s.project_id = a.project_id AND s.issue_id = a.issue_id AND s.user_id = u.id AND NOT s.subscribed))
   ORDER BY a.id, u.id, r.rank
  ON CONFLICT DO NOTHING`;

/** Queues the e-mails that activity entries `ids` owe (entries of other types owe none); returns how many. */
export async function queueNotices(client: pg.ClientBase, ids: readonly (number | string)[]): Promise<number> {
  if (!ids.length) return 0;
  const { rowCount } = await client.query({ name: 'notices-queue', text: QUEUE_SQL, values: [ids] });
  return rowCount ?? 0;
}

/** Whether changes queue these e-mails: only with SMTP_URL set (queued without it, they would all go out the day it is set). */
export function noticesOn(config: Pick<Config, 'smtpUrl'>): boolean {
  return config.smtpUrl !== undefined;
}
