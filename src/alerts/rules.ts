import type pg from 'pg';
import { ALERT_KINDS, type AlertKind } from './queue.js';

// A project's webhooks (table alert_rule, migrations/0014_alerts.sql): what the CLI manages.

export interface AlertRule {
  id: number;
  project_id: number;
  project_slug: string;
  webhook_url: string;
  kinds: AlertKind[];
  created_at: Date;
}

/** Checks a webhook URL: absolute http or https, with a host. Returns the normalized URL or throws. */
export function checkWebhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`a webhook must be http or https, got ${u.protocol.replace(/:$/, '')}`);
  if (!u.hostname) throw new Error(`a webhook URL needs a host: ${JSON.stringify(raw)}`);
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

const SELECT = `SELECT r.id, r.project_id, p.slug AS project_slug, r.webhook_url, r.kinds, r.created_at
                  FROM alert_rule r JOIN project p ON p.id = r.project_id`;

export async function addAlertRule(db: pg.Pool | pg.ClientBase, projectId: number, webhookUrl: string, kinds: readonly AlertKind[] = ALERT_KINDS): Promise<AlertRule> {
  const url = checkWebhookUrl(webhookUrl);
  const { rows } = await db.query<{ id: number }>('INSERT INTO alert_rule (project_id, webhook_url, kinds) VALUES ($1, $2, $3) RETURNING id', [projectId, url, kinds]);
  return (await getAlertRule(db, rows[0]!.id))!;
}

export async function getAlertRule(db: pg.Pool | pg.ClientBase, id: number): Promise<AlertRule | null> {
  const { rows } = await db.query<AlertRule>(`${SELECT} WHERE r.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listAlertRules(db: pg.Pool | pg.ClientBase, projectId?: number): Promise<AlertRule[]> {
  const { rows } = await db.query<AlertRule>(`${SELECT} WHERE $1::bigint IS NULL OR r.project_id = $1 ORDER BY r.id`, [projectId ?? null]);
  return rows;
}

/** Deletes a rule with its pending and past deliveries; false when there was none. */
export async function removeAlertRule(db: pg.Pool | pg.ClientBase, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM alert_rule WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}
