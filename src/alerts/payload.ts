import type { Config } from '../config/index.js';
import { shortId } from '../api/short-id.js';
import type { ClaimedAlert } from './deliveries.js';

// What one notification says, whatever the channel: built when sent, from the issue as it is then
// (a 'new' alert queued mid-batch would otherwise say 0 events). `buildPayload` is the generic
// webhook's JSON body; the chat and e-mail formats (format-*.ts) render the same AlertMessage.

export interface AlertMessage {
  kind: ClaimedAlert['kind'];
  /** "New issue", "Regression", … */
  headline: string;
  /** why it fired: the rule and its trigger ("Rule "Checkout errors": 12 events in the last 60 minutes (more than 10)") */
  why: string;
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
  /** a cron monitor's incident ('monitor' alerts) */
  monitor?: { slug: string; environment: string; incident: 'missed' | 'failed' | 'timeout' } | null;
  /** the issue page in the web UI, the project's monitors page, or the UI's front page for a test */
  url: string;
}

export interface AlertPayload extends Omit<AlertMessage, 'headline' | 'url'> {
  text: string;
  alert: { id: string; rule_id: string; created_at: string; attempt: number };
}

const WHAT: Record<ClaimedAlert['kind'], string> = {
  new: 'New issue',
  regression: 'Regression',
  escalating: 'Ignored issue is back',
  frequency: 'Frequent issue',
  users: 'Issue affecting users',
  monitor: 'Cron monitor',
  test: 'Test notification',
};

const INCIDENT: Record<'missed' | 'failed' | 'timeout', string> = { missed: 'missed a check-in', failed: 'failed', timeout: 'timed out' };

const WHY: Record<ClaimedAlert['kind'], string> = {
  new: 'the first event of a new issue',
  regression: 'a resolved issue has a new event',
  escalating: 'an ignored issue met its condition to come back',
  frequency: 'event frequency',
  users: 'users affected',
  monitor: 'a cron monitor is in trouble',
  test: 'a test notification sent by hand',
};

/** The issue page of the web UI. */
export function issueWebUrl(config: Pick<Config, 'publicUrl'>, issueId: number): string {
  return `${config.publicUrl}/issues/${issueId}`;
}

export function buildMessage(config: Pick<Config, 'publicUrl'>, a: ClaimedAlert): AlertMessage {
  const project = { id: String(a.project_id), slug: a.project_slug, name: a.project_name };
  const rule = a.rule_name ? `Rule ${JSON.stringify(a.rule_name)}` : `Alert rule ${a.rule_id}`;
  const why = `${rule}: ${a.detail ?? WHY[a.kind]}`;
  if (a.kind === 'monitor' && a.monitor_slug) {
    const monitor = { slug: a.monitor_slug, environment: a.monitor_env ?? 'production', incident: a.incident_kind ?? 'missed' };
    return { kind: a.kind, headline: `Cron monitor ${monitor.slug} (${monitor.environment}) ${INCIDENT[monitor.incident]}`, why, project, issue: null, monitor,
      url: `${config.publicUrl}/projects/${encodeURIComponent(a.project_slug)}/monitors` };
  }
  if (a.kind === 'test' || !a.issue_found || a.issue_id === null) {
    return { kind: a.kind, headline: WHAT.test, why, project, issue: null, url: `${config.publicUrl}/` };
  }
  // int8 columns arrive as strings unless the pool parses them (src/storage/db.ts does)
  const url = issueWebUrl(config, a.issue_id);
  return {
    kind: a.kind,
    headline: WHAT[a.kind],
    why,
    project,
    issue: {
      id: String(a.issue_id),
      short_id: shortId(a.project_slug, Number(a.short_id)),
      title: a.title!,
      culprit: a.culprit ?? '',
      level: a.level!,
      platform: a.platform!,
      status: a.status!,
      substatus: a.substatus,
      count: Number(a.event_count),
      user_count: Number(a.user_count),
      first_seen: a.first_seen!.toISOString(),
      last_seen: a.last_seen!.toISOString(),
      url,
    },
    url,
  };
}

/** Slack/Mattermost mrkdwn: `&`, `<`, `>` escaped, so `<!channel>`, `<@U1>` and `<https://…|text>` in a title are shown, not obeyed. */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One line, at most `max` characters (a title can be a whole multi-line message). */
export function oneLine(s: string, max = 500): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The one-line summary: the generic webhook's `text` (escaped for Slack-compatible receivers) and the e-mail subject (not escaped). */
export function summaryLine(m: AlertMessage): string {
  if (m.monitor) return oneLine(`[${m.project.slug}] ${m.headline} ${m.url}`);
  if (!m.issue) return oneLine(`[${m.project.slug}] ${m.headline} from crash-cache (${m.url.replace(/\/$/, '')})`);
  const culprit = m.issue.culprit ? ` in ${m.issue.culprit}` : '';
  const count = m.issue.count === 1 ? '1 event' : `${m.issue.count} events`;
  return oneLine(`[${m.project.slug}] ${m.headline} ${m.issue.short_id}: ${m.issue.title}${culprit} (${m.issue.level}, ${count}) ${m.issue.url}`);
}

export function buildPayload(config: Pick<Config, 'publicUrl'>, a: ClaimedAlert): AlertPayload {
  const m = buildMessage(config, a);
  return {
    kind: m.kind,
    text: escapeSlack(summaryLine(m)),
    why: m.why,
    alert: { id: String(a.id), rule_id: String(a.rule_id), created_at: a.created_at.toISOString(), attempt: a.attempts },
    project: m.project,
    issue: m.issue,
    ...(m.monitor ? { monitor: m.monitor } : {}),
  };
}
