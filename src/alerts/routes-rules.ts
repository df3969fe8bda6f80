
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from '../api/routes.js';
import type { Principal } from '../auth/principal.js';
import { readJsonBody } from '../api/body.js';
import { requireProject } from '../api/lookup.js';
import { listDeliveries, type DeliveryRow } from './deliveries.js';
import { addRule, checkRule, getAlertRule, listAlertRules, removeAlertRule, updateRule, type AlertRule, type Channel, type RuleInput } from './rules.js';
import { LEVELS, type AlertKind } from './queue.js';
import { sendTestAlert } from './sender.js';

// A project's alert rules in Sentry's issue-alert shapes (/api/0/projects/{org}/{project}/rules/):
// conditions (our triggers; any fires), filters (all must hold), one action (the channel), frequency
// (the action interval in minutes) and environment. Sentry's condition, filter and action ids are used
// where Sentry has one; an action's webhookUrl is shown back without its secret part.
// Beyond Sentry: POST …/rules/{id}/test/ sends a test notification and answers with the receiver's
// answer; GET …/rules/{id}/deliveries/ lists the rule's notifications with status and last error.

type H = ApiHandler;

const COND: Record<AlertKind, string> = {
  new: 'sentry.rules.conditions.first_seen_event.FirstSeenEventCondition',
  regression: 'sentry.rules.conditions.regression_event.RegressionEventCondition',
  escalating: 'sentry.rules.conditions.reappeared_event.ReappearedEventCondition',
  frequency: 'sentry.rules.conditions.event_frequency.EventFrequencyCondition',
  users: 'sentry.rules.conditions.event_frequency.EventUniqueUserFrequencyCondition',
  // Sentry alerts on cron monitors through their own issues; here a rule is told of a monitor's incident
  monitor: 'crash_cache.rules.conditions.cron_monitor.MonitorIncidentCondition',
};
const ACTION: Record<Channel, string> = {
  email: 'sentry.mail.actions.NotifyEmailAction',
  slack: 'sentry.integrations.slack.notify_action.SlackNotifyServiceAction',
  discord: 'sentry.integrations.discord.notify_action.DiscordNotifyServiceAction',
  teams: 'sentry.integrations.msteams.notify_action.MsTeamsNotifyServiceAction',
  webhook: 'sentry.rules.actions.notify_event_service.NotifyEventServiceAction',
};
const LEVEL_FILTER = 'sentry.rules.filters.level.LevelFilter';
const TAG_FILTER = 'sentry.rules.filters.tagged_event.TaggedEventFilter';
// Sentry's LevelFilter speaks in logging numbers
const LEVEL_NUM: Record<string, string> = { debug: '10', info: '20', warning: '30', error: '40', fatal: '50' };
const SENTRY_INTERVALS: Record<string, number> = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '1d': 1440, '1w': 10080 };

function intervalName(min: number): string {
  return Object.entries(SENTRY_INTERVALS).find(([, m]) => m === min)?.[0] ?? `${min}m`;
}
function parseInterval(v: unknown): number {
  if (typeof v !== 'string') throw new Error('a frequency condition needs interval (1m, 5m, 15m, 1h, 1d, 1w or Nm)');
  if (SENTRY_INTERVALS[v] !== undefined) return SENTRY_INTERVALS[v]!;
  const m = /^(\d{1,5})m$/.exec(v);
  if (!m) throw new Error(`interval ${JSON.stringify(v.slice(0, 20))} is not 1m, 5m, 15m, 1h, 1d, 1w or Nm`);
  return Number(m[1]);
}

export function serializeRule(r: AlertRule): Record<string, unknown> {
  const conditions = r.kinds.map((k) => k === 'frequency' ? { id: COND[k], value: r.event_threshold, interval: intervalName(r.event_window_minutes!), comparisonType: 'count' }
    : k === 'users' ? { id: COND[k], value: r.user_threshold, interval: intervalName(r.user_window_minutes!), comparisonType: 'count' } : { id: COND[k] });
  const { environment, ...tags } = r.filter_tags;
  const filters: Record<string, unknown>[] = [];
  if (r.filter_level) filters.push({ id: LEVEL_FILTER, match: 'gte', level: LEVEL_NUM[r.filter_level] });
  for (const [key, value] of Object.entries(tags)) filters.push({ id: TAG_FILTER, key, match: 'eq', value });
  const actions = r.channel === 'email'
    ? [...(r.email_to.length ? [{ id: ACTION.email, targetType: 'Addresses', targetIdentifier: r.email_to.join(',') }] : []),
       ...(r.email_members ? [{ id: ACTION.email, targetType: 'ProjectMembers', targetIdentifier: null }] : [])]
    : [{ id: ACTION[r.channel], ...(r.channel === 'webhook' ? { service: 'webhooks' } : {}), webhookUrl: r.target }];
  return {
    id: String(r.id), name: r.name || `Alert ${r.id}`, actionMatch: 'any', filterMatch: 'all', frequency: r.action_interval_minutes,
    conditions, filters, actions, environment: environment ?? null, projects: [r.project_slug], status: 'active', owner: null,
    createdBy: null, snooze: false, dateCreated: r.created_at.toISOString(),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Sentry rule body → our rule; throws an Error naming what is wrong. */
export function parseRuleBody(b: Record<string, unknown>): RuleInput {
  if (b.actionMatch !== undefined && b.actionMatch !== 'any') throw new Error('actionMatch must be "any" (any condition fires the rule)');
  if (b.filterMatch !== undefined && b.filterMatch !== 'all') throw new Error('filterMatch must be "all"');
  if (!Array.isArray(b.conditions) || !b.conditions.length) throw new Error('conditions must be a non-empty list');
  const out: RuleInput = { channel: 'webhook', kinds: [], filterTags: {} };
  if (b.name !== undefined && typeof b.name !== 'string') throw new Error('name must be a string');
  out.name = b.name as string | undefined;
  for (const c of b.conditions) {
    const kind = isObj(c) ? (Object.entries(COND).find(([, id]) => id === c.id)?.[0] as AlertKind | undefined) : undefined;
    if (!kind) throw new Error(`unknown condition ${JSON.stringify(isObj(c) ? c.id : c)} (ids: ${Object.values(COND).join(', ')})`);
    out.kinds!.push(kind);
    const cond = c as Record<string, unknown>;
    if (kind === 'frequency' || kind === 'users') {
      if (cond.comparisonType !== undefined && cond.comparisonType !== 'count') throw new Error('only comparisonType "count" is supported');
      const value = typeof cond.value === 'string' && /^\d{1,10}$/.test(cond.value) ? Number(cond.value) : cond.value;
      if (kind === 'frequency') (out.eventThreshold = value as number, out.eventWindowMinutes = parseInterval(cond.interval));
      else (out.userThreshold = value as number, out.userWindowMinutes = parseInterval(cond.interval));
    }
  }
  for (const f of b.filters === undefined ? [] : Array.isArray(b.filters) ? b.filters : [null]) {
    if (!isObj(f)) throw new Error('filters must be a list of objects');
    if (f.id === LEVEL_FILTER) {
      if (f.match !== undefined && f.match !== 'gte') throw new Error('the level filter supports match "gte" only');
      const level = Object.entries(LEVEL_NUM).find(([, n]) => n === String(f.level))?.[0] ?? (LEVELS as readonly string[]).find((l) => l === f.level);
      if (!level) throw new Error('level must be 10, 20, 30, 40 or 50 (debug … fatal)');
      out.filterLevel = level;
    } else if (f.id === TAG_FILTER) {
      if (f.match !== undefined && f.match !== 'eq') throw new Error('the tag filter supports match "eq" only');
      if (typeof f.key !== 'string' || typeof f.value !== 'string') throw new Error('a tag filter needs key and value strings');
      out.filterTags![f.key] = f.value;
    } else throw new Error(`unknown filter ${JSON.stringify(f.id)} (ids: ${LEVEL_FILTER}, ${TAG_FILTER})`);
  }
  if (b.environment !== undefined && b.environment !== null) {
    if (typeof b.environment !== 'string') throw new Error('environment must be a string');
    out.filterTags!.environment = b.environment;
  }
  if (b.frequency !== undefined) {
    const n = typeof b.frequency === 'string' && /^\d{1,6}$/.test(b.frequency) ? Number(b.frequency) : b.frequency;
    out.actionIntervalMinutes = n as number;
  }
  if (!Array.isArray(b.actions) || !b.actions.length) throw new Error('actions must be a non-empty list');
  const channels = new Set<Channel>();
  for (const a of b.actions) {
    const ch = isObj(a) ? (Object.entries(ACTION).find(([, id]) => id === a.id)?.[0] as Channel | undefined) : undefined;
    if (!ch) throw new Error(`unknown action ${JSON.stringify(isObj(a) ? a.id : a)} (ids: ${Object.values(ACTION).join(', ')})`);
    channels.add(ch);
    const act = a as Record<string, unknown>;
    if (ch === 'email') {
      if (act.targetType === 'ProjectMembers') out.emailMembers = true;
      else if (act.targetType === 'Addresses' && typeof act.targetIdentifier === 'string') out.emailTo = [...(out.emailTo ?? []), ...act.targetIdentifier.split(',')];
      else throw new Error('an e-mail action needs targetType "ProjectMembers", or "Addresses" with targetIdentifier "a@example.com,b@example.com"');
    } else {
      if (act.webhookUrl !== undefined && typeof act.webhookUrl !== 'string') throw new Error('webhookUrl must be a string');
      out.webhookUrl = act.webhookUrl as string | undefined;
    }
  }
  if (channels.size !== 1 || (!channels.has('email') && b.actions.length !== 1)) throw new Error('a rule has one action (one channel; e-mail may list addresses and project members)');
  out.channel = [...channels][0]!;
  return out;
}

async function ruleOf(ctx: AppContext, params: Params, who: Principal): Promise<AlertRule> {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const id = params.ruleId!;
  const rule = /^\d{1,15}$/.test(id) ? await getAlertRule(ctx.db.pool, Number(id)) : null;
  if (!rule || rule.project_id !== p.id) throw new HttpError('not_found', 'The requested resource does not exist');
  return rule;
}

function parsed(b: Record<string, unknown>): RuleInput {
  try {
    const r = parseRuleBody(b);
    if (r.webhookUrl !== undefined || r.channel === 'email') checkRule(r);
    return r;
  } catch (e) {
    throw new HttpError('invalid_request', (e as Error).message);
  }
}

export const listRules: H = async (ctx, _req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  sendJson(res, 200, (await listAlertRules(ctx.db.pool, p.id)).map(serializeRule));
};

export const createRule: H = async (ctx, req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const input = parsed(await readJsonBody(req));
  if (input.channel !== 'email' && !input.webhookUrl) throw new HttpError('invalid_request', `a ${input.channel} action needs webhookUrl`);
  sendJson(res, 201, serializeRule(await addRule(ctx.db.pool, p.id, input)));
};

export const getRule: H = async (ctx, _req, res, params, _url, who) => {
  sendJson(res, 200, serializeRule(await ruleOf(ctx, params, who)));
};

export const updateRuleRoute: H = async (ctx, req, res, params, _url, who) => {
  const rule = await ruleOf(ctx, params, who);
  const input = parsed(await readJsonBody(req));
  let updated: AlertRule | null;
  try {
    updated = await updateRule(ctx.db.pool, rule.id, input);
  } catch (e) {
    throw new HttpError('invalid_request', (e as Error).message);
  }
  sendJson(res, 200, serializeRule(updated!));
};

export const deleteRule: H = async (ctx, _req, res, params, _url, who) => {
  const rule = await ruleOf(ctx, params, who);
  await removeAlertRule(ctx.db.pool, rule.id);
  res.writeHead(202).end();
};

export function serializeDelivery(d: DeliveryRow): Record<string, unknown> {
  return {
    id: String(d.id), ruleId: String(d.rule_id), kind: d.kind, issueId: d.issue_id === null ? null : String(d.issue_id), channel: d.channel,
    target: d.target, status: d.status, attempts: d.attempts, lastStatus: d.last_status, lastError: d.last_error, detail: d.detail,
    dateCreated: d.created_at.toISOString(), nextAttempt: d.status === 'pending' ? d.run_after.toISOString() : null,
    dateFinished: d.finished_at?.toISOString() ?? null,
  };
}

export const listRuleDeliveries: H = async (ctx, _req, res, params, _url, who) => {
  const rule = await ruleOf(ctx, params, who);
  sendJson(res, 200, (await listDeliveries(ctx.db.pool, { ruleId: rule.id, limit: 100 })).map(serializeDelivery));
};

export const testRule: H = async (ctx, _req, res, params, _url, who) => {
  const rule = await ruleOf(ctx, params, who);
  const r = (await sendTestAlert(ctx.db.pool, ctx.config, rule.id))!;
  sendJson(res, 200, { id: String(r.id), ok: r.ok, status: r.httpStatus, answer: r.answer ?? r.error ?? null });
};
