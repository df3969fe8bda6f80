import type { Config } from '../config/index.js';
import { shortId } from '../api/short-id.js';
import type { ClaimedAlert } from './deliveries.js';

// The JSON body of a webhook POST: what a human and a chat integration need. `text` is a one-line
// summary, the field Slack- and Mattermost-compatible incoming webhooks display; the rest is for
// programs. Built when sent, from the issue as it is then (a 'new' alert queued mid-batch would
// otherwise say 0 events).

export interface AlertPayload {
  kind: ClaimedAlert['kind'];
  text: string;
  alert: { id: string; rule_id: string; created_at: string; attempt: number };
  project: { id: string; slug: string; name: string };
  issue: {
    id: string;
    short_id: string;
    title: string;
    culprit: string;
    level: string;
    platform: string;
    status: string;
    substatus: string | null;
    count: number;
    user_count: number;
    first_seen: string;
    last_seen: string;
    url: string;
  } | null;
}

const WHAT: Record<ClaimedAlert['kind'], string> = {
  new: 'New issue',
  regression: 'Regression',
  escalating: 'Ignored issue is back',
  test: 'Test notification',
};

/** The issue page of the web UI. */
export function issueWebUrl(config: Pick<Config, 'publicUrl'>, issueId: number): string {
  return `${config.publicUrl}/issues/${issueId}`;
}

export function buildPayload(config: Pick<Config, 'publicUrl'>, a: ClaimedAlert): AlertPayload {
  const project = { id: String(a.project_id), slug: a.project_slug, name: a.project_name };
  const alert = { id: String(a.id), rule_id: String(a.rule_id), created_at: a.created_at.toISOString(), attempt: a.attempts };
  if (a.kind === 'test' || !a.issue_found || a.issue_id === null) {
    return { kind: a.kind, text: `[${a.project_slug}] ${WHAT.test} from crash-cache (${config.publicUrl})`, alert, project, issue: null };
  }
  // int8 columns arrive as strings unless the pool parses them (src/storage/db.ts does)
  const sid = shortId(a.project_slug, Number(a.short_id));
  const url = issueWebUrl(config, a.issue_id);
  const culprit = a.culprit ? ` in ${a.culprit}` : '';
  const events = Number(a.event_count);
  const count = events === 1 ? '1 event' : `${events} events`;
  return {
    kind: a.kind,
    text: oneLine(`[${a.project_slug}] ${WHAT[a.kind]} ${sid}: ${a.title}${culprit} (${a.level}, ${count}) ${url}`),
    alert,
    project,
    issue: {
      id: String(a.issue_id),
      short_id: sid,
      title: a.title!,
      culprit: a.culprit ?? '',
      level: a.level!,
      platform: a.platform!,
      status: a.status!,
      substatus: a.substatus,
      count: events,
      user_count: a.user_count!,
      first_seen: a.first_seen!.toISOString(),
      last_seen: a.last_seen!.toISOString(),
      url,
    },
  };
}

/** One line, at most ~500 characters (a title can be a whole multi-line message). */
function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ');
  return t.length > 500 ? `${t.slice(0, 499)}…` : t;
}
