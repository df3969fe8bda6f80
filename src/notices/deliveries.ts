import type pg from 'pg';
import { userSeesProjectSql } from '../auth/access.js';
import { leaseCte } from '../alerts/deliveries.js';

// Claiming notice_outbox rows (migrations/0046_issue_notices.sql) for the sender, with what the
// e-mail says read as it is now: the activity entry (a comment edited since is sent as edited), the
// issue, the actor and the recipient. Leased like alerts (leaseCte, src/alerts/deliveries.ts): one
// short statement moves run_after past the send's timeout, so no connection is held over SMTP.

export interface ClaimedNotice {
  id: number;
  attempts: number;
  reason: 'assigned' | 'mentioned' | 'assignee' | 'commented' | 'bookmarked' | 'subscribed';
  activity_id: number;
  /** 'assigned' or 'note' */
  type: 'assigned' | 'note';
  /** the comment's text ('note') */
  text: string | null;
  /** who made the change; null for a token made on the host, or a user deleted since */
  actor_email: string | null;
  recipient: string;
  /** why it is not sent any more: the recipient turned this e-mail off, or no longer sees the project; null: send */
  unwanted: string | null;
  project_slug: string;
  project_name: string;
  issue_found: boolean;
  issue_id: number;
  short_id: number | null;
  title: string | null;
  culprit: string | null;
  level: string | null;
  status: string | null;
  event_count: number | null;
}

/** Takes up to `limit` due e-mails for `leaseMs`. */
export async function claimNotices(db: pg.Pool | pg.ClientBase, limit: number, leaseMs: number): Promise<ClaimedNotice[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<ClaimedNotice>({
    name: 'notices-claim',
    text: `${leaseCte('notice_outbox')}
           SELECT c.id, c.attempts, c.reason, c.activity_id, a.type, a.data ->> 'text' AS text, actor.email AS actor_email,
                  u.email AS recipient,
                  CASE WHEN NOT u.email_workflow THEN 'turned e-mail about issues off'
                       WHEN NOT ${userSeesProjectSql('u', 'c.project_id')} THEN 'no longer sees project ' || p.slug END AS unwanted,
                  p.slug AS project_slug, p.name AS project_name, i.id IS NOT NULL AS issue_found, a.issue_id,
                  i.short_id, i.title, i.culprit, i.level, i.status, i.event_count
             FROM c JOIN issue_activity a ON a.id = c.activity_id JOIN ui_user u ON u.id = c.user_id JOIN project p ON p.id = c.project_id
             LEFT JOIN ui_user actor ON actor.id = a.user_id
             LEFT JOIN issue i ON i.project_id = a.project_id AND i.id = a.issue_id
            ORDER BY c.id`,
    values: [limit, leaseMs],
  });
  return rows;
}
