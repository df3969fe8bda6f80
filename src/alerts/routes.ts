
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from '../api/routes.js';
import type { Principal } from '../auth/principal.js';
import { readJsonBody } from '../api/body.js';
import { requireProject } from '../api/lookup.js';
import { ALERT_KINDS } from './queue.js';
import { addAlertRule, checkWebhookUrl, getAlertRule, listAlertRules, parseKinds, removeAlertRule, type AlertRule } from './rules.js';
export { listRules, createRule, getRule, updateRuleRoute, deleteRule, testRule, listRuleDeliveries } from './routes-rules.js';

// A project's webhooks in the API, shaped like Sentry's service hooks
// (/api/0/projects/{org}/{project}/hooks/: id, url, status, events, dateCreated). `events` names our
// alert kinds (new, regression, escalating), not Sentry's event.alert / event.created.

type H = ApiHandler;

function serializeHook(r: AlertRule): Record<string, unknown> {
  // the URL without its secret part: it is never shown back in full
  return { id: String(r.id), url: r.target, status: 'active', events: r.kinds, dateCreated: r.created_at.toISOString() };
}

function parseBody(body: Record<string, unknown>, partial: boolean): { url?: string; kinds?: ReturnType<typeof parseKinds> } {
  const out: { url?: string; kinds?: ReturnType<typeof parseKinds> } = {};
  try {
    if (body.url !== undefined || !partial) {
      if (typeof body.url !== 'string') throw new Error('url must be a string');
      out.url = checkWebhookUrl(body.url);
    }
    if (body.events !== undefined) {
      if (!Array.isArray(body.events) || !body.events.every((e) => typeof e === 'string')) throw new Error(`events must be a list of ${ALERT_KINDS.join(', ')}`);
      out.kinds = parseKinds(body.events.join(','));
    }
  } catch (e) {
    throw new HttpError('invalid_request', (e as Error).message);
  }
  return out;
}

async function hookOf(ctx: AppContext, params: Params, who: Principal): Promise<AlertRule> {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const id = params.hookId!;
  const rule = /^\d{1,15}$/.test(id) ? await getAlertRule(ctx.db.pool, Number(id)) : null;
  if (!rule || rule.project_id !== p.id || rule.channel !== 'webhook') throw new HttpError('not_found', 'The requested resource does not exist');
  return rule;
}

export const listHooks: H = async (ctx, _req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  sendJson(res, 200, (await listAlertRules(ctx.db.pool, p.id)).filter((r) => r.channel === 'webhook').map(serializeHook));
};

export const createHook: H = async (ctx, req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const b = parseBody(await readJsonBody(req), false);
  sendJson(res, 201, serializeHook(await addAlertRule(ctx.db.pool, p.id, b.url!, b.kinds)));
};

export const getHook: H = async (ctx, _req, res, params, _url, who) => {
  sendJson(res, 200, serializeHook(await hookOf(ctx, params, who)));
};

export const updateHook: H = async (ctx, req, res, params, _url, who) => {
  const rule = await hookOf(ctx, params, who);
  const b = parseBody(await readJsonBody(req), true);
  await ctx.db.pool.query('UPDATE alert_rule SET webhook_url = coalesce($2, webhook_url), kinds = coalesce($3, kinds) WHERE id = $1', [rule.id, b.url ?? null, b.kinds ?? null]);
  sendJson(res, 200, serializeHook((await getAlertRule(ctx.db.pool, rule.id))!));
};

export const deleteHook: H = async (ctx, _req, res, params, _url, who) => {
  const rule = await hookOf(ctx, params, who);
  await removeAlertRule(ctx.db.pool, rule.id);
  res.writeHead(204).end();
};
