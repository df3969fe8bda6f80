import type pg from 'pg';
import { targetOf } from './deliveries.js';
import { ALERT_KINDS, LEVELS, type AlertKind } from './queue.js';

// A project's alert rules (table alert_rule, migrations/0014_alerts.sql and 0025_alert_channels.sql):
// triggers (kinds) → filters → one channel, at most once per issue per action interval. What the CLI,
// the API and the UI manage; every input is checked here, with an error naming the field and limit.

export const CHANNELS = ['webhook', 'slack', 'discord', 'teams', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Most addresses one rule e-mails; most tag filters; the longest window (the per-minute counts are kept 7 days). */
export const MAX_EMAIL_TO = 50;
export const MAX_TAG_FILTERS = 10;
export const MAX_WINDOW_MINUTES = 10080;
export const MAX_INTERVAL_MINUTES = 43200;

export interface RuleInput {
  name?: string;
  channel: Channel;
  webhookUrl?: string;
  emailTo?: string[];
  emailMembers?: boolean;
  kinds?: AlertKind[];
  eventThreshold?: number | null;
  eventWindowMinutes?: number | null;
  userThreshold?: number | null;
  userWindowMinutes?: number | null;
  filterLevel?: string | null;
  filterTags?: Record<string, string>;
  actionIntervalMinutes?: number;
}

export interface AlertRule {
  id: number;
  project_id: number;
  project_slug: string;
  name: string;
  channel: Channel;
  /** where it goes, secrets cut: a webhook URL's host and first path segment, or the e-mail recipients */
  target: string;
  email_to: string[];
  email_members: boolean;
  kinds: AlertKind[];
  event_threshold: number | null;
  event_window_minutes: number | null;
  user_threshold: number | null;
  user_window_minutes: number | null;
  filter_level: string | null;
  filter_tags: Record<string, string>;
  action_interval_minutes: number;
  created_at: Date;
}

/** Checks a webhook URL: absolute http or https, with a host. Returns the normalized URL or throws. Where it points is checked when it is sent (outbound.ts). */
export function checkWebhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`a webhook must be http or https, got ${u.protocol.replace(/:$/, '')}`);
  if (!u.hostname) throw new Error('a webhook URL needs a host');
  if (raw.length > 2000) throw new Error('a webhook URL may have at most 2000 characters');
  return u.toString();
}

/** Parses "new,regression" (no duplicates, at least one); throws on an unknown kind. */
export function parseKinds(raw: string): AlertKind[] {
  const out: AlertKind[] = [];
  for (const k of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(ALERT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown alert kind ${JSON.stringify(k)} (kinds: ${ALERT_KINDS.join(', ')})`);
    if (!out.includes(k as AlertKind)) out.push(k as AlertKind);
  }
  if (!out.length) throw new Error(`no alert kind given (kinds: ${ALERT_KINDS.join(', ')})`);
  return out;
}

// an address nodemailer and any SMTP server take: one @, no spaces, no angle brackets or commas
const EMAIL = /^[^\s@<>,;"]{1,64}@[^\s@<>,;"]{1,255}$/;

const int = (v: unknown, what: string, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`${what} must be a whole number from ${min} to ${max}`);
  return v;
};

/** Validates a rule; returns the columns to store. Throws an Error naming the field. */
export function checkRule(r: RuleInput): Record<string, unknown> {
  if (!(CHANNELS as readonly string[]).includes(r.channel)) throw new Error(`channel must be one of ${CHANNELS.join(', ')}`);
  const name = (r.name ?? '').trim();
  if (name.length > 200) throw new Error('name may have at most 200 characters');
  let webhookUrl: string | null = null;
  let emailTo: string[] = [];
  const emailMembers = r.emailMembers === true;
  if (r.channel === 'email') {
    if (r.webhookUrl) throw new Error('an e-mail rule takes addresses, not a URL');
    emailTo = [...new Set((r.emailTo ?? []).map((e) => e.trim().toLowerCase()).filter(Boolean))];
    if (emailTo.length > MAX_EMAIL_TO) throw new Error(`at most ${MAX_EMAIL_TO} e-mail addresses per rule`);
    for (const e of emailTo) if (!EMAIL.test(e)) throw new Error(`not an e-mail address: ${JSON.stringify(e.slice(0, 100))}`);
    if (!emailTo.length && !emailMembers) throw new Error('an e-mail rule needs addresses or project members');
  } else {
    if (!r.webhookUrl) throw new Error(`a ${r.channel} rule needs its webhook URL`);
    webhookUrl = checkWebhookUrl(r.webhookUrl);
  }
  const kinds = r.kinds?.length ? [...new Set(r.kinds)] : ['new', 'regression', 'escalating'];
  for (const k of kinds) if (!(ALERT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown alert kind ${JSON.stringify(k)} (kinds: ${ALERT_KINDS.join(', ')})`);
  const freq = kinds.includes('frequency');
  const users = kinds.includes('users');
  if (!freq && (r.eventThreshold != null || r.eventWindowMinutes != null)) throw new Error('an event threshold needs the frequency trigger');
  if (!users && (r.userThreshold != null || r.userWindowMinutes != null)) throw new Error('a user threshold needs the users trigger');
  const filterLevel = r.filterLevel ?? null;
  if (filterLevel !== null && !(LEVELS as readonly string[]).includes(filterLevel)) throw new Error(`level must be one of ${LEVELS.join(', ')}`);
  const tags = r.filterTags ?? {};
  if (Object.keys(tags).length > MAX_TAG_FILTERS) throw new Error(`at most ${MAX_TAG_FILTERS} tag filters per rule`);
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string' || !k || k.length > 200 || v.length > 200) throw new Error('a tag filter is key=value, each 1 to 200 characters');
  }
  return {
    name, channel: r.channel, webhook_url: webhookUrl, email_to: emailTo, email_members: emailMembers, kinds,
    event_threshold: freq ? int(r.eventThreshold, 'the event threshold', 0, 1_000_000_000) : null,
    event_window_minutes: freq ? int(r.eventWindowMinutes ?? 60, 'the event window (minutes)', 1, MAX_WINDOW_MINUTES) : null,
    user_threshold: users ? int(r.userThreshold, 'the user threshold', 0, 1_000_000_000) : null,
    user_window_minutes: users ? int(r.userWindowMinutes ?? 60, 'the user window (minutes)', 1, MAX_WINDOW_MINUTES) : null,
    filter_level: filterLevel,
    filter_tags: JSON.stringify(tags),
    action_interval_minutes: int(r.actionIntervalMinutes ?? 30, 'the action interval (minutes)', 0, MAX_INTERVAL_MINUTES),
  };
}

const SELECT = `SELECT r.id, r.project_id, p.slug AS project_slug, r.name, r.channel, r.webhook_url, r.email_to, r.email_members, r.kinds,
                       r.event_threshold, r.event_window_minutes, r.user_threshold, r.user_window_minutes, r.filter_level, r.filter_tags,
                       r.action_interval_minutes, r.created_at
                  FROM alert_rule r JOIN project p ON p.id = r.project_id`;

type Row = Omit<AlertRule, 'target'> & { webhook_url: string | null };
const shown = ({ webhook_url, ...r }: Row): AlertRule => ({ ...r, target: targetOf({ webhook_url, email_to: r.email_to, email_members: r.email_members }) });

export async function addRule(db: pg.Pool | pg.ClientBase, projectId: number, input: RuleInput): Promise<AlertRule> {
  const c = checkRule(input);
  const cols = Object.keys(c);
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO alert_rule (project_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING id`,
    [projectId, ...Object.values(c)]);
  return (await getAlertRule(db, rows[0]!.id))!;
}

/** Replaces a rule's settings (a webhook URL left out keeps the stored one: it is never shown back to be re-sent). */
export async function updateRule(db: pg.Pool | pg.ClientBase, id: number, input: RuleInput): Promise<AlertRule | null> {
  if (input.channel !== 'email' && !input.webhookUrl) {
    const { rows } = await db.query<{ webhook_url: string | null; channel: string }>('SELECT webhook_url, channel FROM alert_rule WHERE id = $1', [id]);
    if (rows[0]?.webhook_url && rows[0].channel === input.channel) input = { ...input, webhookUrl: rows[0].webhook_url };
  }
  const c = checkRule(input);
  const cols = Object.keys(c);
  await db.query(`UPDATE alert_rule SET ${cols.map((k, i) => `${k} = $${i + 2}`).join(', ')} WHERE id = $1`, [id, ...Object.values(c)]);
  return getAlertRule(db, id);
}

/** The webhook of before rules (crash-cache-cli alert add --webhook, /hooks/): every change, no interval unless asked. */
export async function addAlertRule(db: pg.Pool | pg.ClientBase, projectId: number, webhookUrl: string, kinds: readonly AlertKind[] = ['new', 'regression', 'escalating']): Promise<AlertRule> {
  return addRule(db, projectId, { channel: 'webhook', webhookUrl, kinds: [...kinds], actionIntervalMinutes: 0 });
}

export async function getAlertRule(db: pg.Pool | pg.ClientBase, id: number): Promise<AlertRule | null> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE r.id = $1`, [id]);
  return rows[0] ? shown(rows[0]) : null;
}

export async function listAlertRules(db: pg.Pool | pg.ClientBase, projectId?: number): Promise<AlertRule[]> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE $1::bigint IS NULL OR r.project_id = $1 ORDER BY r.id`, [projectId ?? null]);
  return rows.map(shown);
}

/** Deletes a rule with its pending and past deliveries; false when there was none. */
export async function removeAlertRule(db: pg.Pool | pg.ClientBase, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM alert_rule WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/** A UI user's e-mail alerts of one project: on (the default) or off. */
export async function setEmailOptOut(db: pg.Pool | pg.ClientBase, userId: number, projectId: number, off: boolean): Promise<void> {
  if (off) await db.query('INSERT INTO alert_email_optout (user_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, projectId]);
  else await db.query('DELETE FROM alert_email_optout WHERE user_id = $1 AND project_id = $2', [userId, projectId]);
}

export async function emailOptedOut(db: pg.Pool | pg.ClientBase, userId: number, projectId: number): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM alert_email_optout WHERE user_id = $1 AND project_id = $2', [userId, projectId]);
  return (rowCount ?? 0) > 0;
}
