import type pg from 'pg';
import type { Principal } from '../auth/principal.js';
import { HttpError } from '../http/errors.js';
import { assignIssues, resolveAssignee, type Assignee } from './assignees.js';
import { setBookmarks, setSubscriptions } from './bookmarks.js';

// The collaboration half of Sentry's issue update (PUT issues/{id}/ and the bulk PUT …/issues/?id=…):
// `assignedTo`, `isBookmarked` and `isSubscribed`. Read and checked in full before anything changes (a bad assignee
// is a 400 that leaves the status alone too), then applied in the caller's transaction.

export interface CollabChange {
  /** undefined: not asked; null: unassign */
  assignee?: Assignee | null;
  bookmark?: { on: boolean; userId: number };
  subscription?: { on: boolean; userId: number };
}

export async function readCollabChange(db: pg.Pool, body: Record<string, unknown>, p: Principal, projects: { id: number; slug: string }[]): Promise<CollabChange> {
  const out: CollabChange = {};
  if ('assignedTo' in body) out.assignee = await resolveAssignee(db, body.assignedTo, projects);
  for (const field of ['isBookmarked', 'isSubscribed'] as const) {
    if (!(field in body)) continue;
    const v = body[field];
    const on = v === true || v === 'true' || v === 1 || v === '1' ? true : v === false || v === 'false' || v === 0 || v === '0' ? false : null;
    if (on === null) throw new HttpError('invalid_request', `${field} must be true or false`);
    if (p.userId === null) throw new HttpError('invalid_request', `${field}: this token belongs to no user (made with crash-cache-cli), and ${field === 'isBookmarked' ? 'bookmarks' : 'subscriptions'} are per user`);
    out[field === 'isBookmarked' ? 'bookmark' : 'subscription'] = { on, userId: p.userId };
  }
  return out;
}

/** Applies the change to the issues (`notify`: queue the new assignee's e-mail); returns the fields Sentry answers with for it. */
export async function applyCollabChange(client: pg.ClientBase, ids: number[], c: CollabChange, p: Principal, notify: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (c.assignee !== undefined) {
    await assignIssues(client, ids, c.assignee, p.userId, notify);
    out.assignedTo = c.assignee ? { type: 'user', id: String(c.assignee.id), name: c.assignee.email, email: c.assignee.email } : null;
  }
  if (c.bookmark) {
    await setBookmarks(client, ids, c.bookmark.userId, c.bookmark.on);
    out.isBookmarked = c.bookmark.on;
  }
  if (c.subscription) {
    await setSubscriptions(client, ids, c.subscription.userId, c.subscription.on);
    out.isSubscribed = c.subscription.on;
  }
  return out;
}
