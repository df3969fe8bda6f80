import type { FeedbackRow } from './queries/feedback.js';

// Feedback rows → Sentry's user report JSON (projects/{org}/{project}/user-feedback/ and
// issues/{id}/user-reports/). A feedback event about an error carries that error's id as eventID,
// as Sentry's user reports do; one about no event carries its own id. Sentry's name and email are
// strings, empty when not given.

export function serializeFeedback(r: FeedbackRow, issue?: Record<string, unknown> | null) {
  const eventID = r.event_id ?? r.feedback_id;
  const out: Record<string, unknown> = {
    id: String(r.id),
    eventID,
    name: r.name ?? '',
    email: r.email ?? '',
    comments: r.comments,
    dateCreated: r.received_at.toISOString(),
    user: null,
    event: { id: r.issue_id !== null ? eventID : null, eventID },
  };
  if (issue !== undefined) out.issue = issue;
  return out;
}
