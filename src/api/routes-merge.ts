import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { Principal } from '../auth/principal.js';
import { requireProjectAccess } from '../auth/access.js';
import { requireIssue, requireOrg } from './lookup.js';
import { checkMergeable, mergeIssues, unmergeHashes } from './queries/merge.js';

// Merge (`{"merge": 1}` in the bulk issue PUT, Sentry's shape) and unmerge (DELETE — Sentry's older
// verb — or PUT on issues/{id}/hashes/?id=<hash>). The work is in queries/merge.ts.

/** Whether a bulk PUT body asks for a merge (Sentry's clients send 1 or true). */
export function wantsMerge(body: Record<string, unknown>): boolean {
  return body.merge === 1 || body.merge === true || body.merge === '1' || body.merge === 'true';
}

/** Before anything changes: at least two issues, all of one project the principal may see. */
export async function checkMerge(ctx: AppContext, ids: number[], principal: Principal): Promise<void> {
  const { rows } = await ctx.db.pool.query<{ project_id: number }>('SELECT project_id FROM issue WHERE id = ANY($1::bigint[])', [ids]);
  checkMergeable(rows);
  requireProjectAccess(principal, rows[0]!.project_id);
}

/** The merge part of a bulk PUT's answer: `{"parent": "<id>", "children": ["<id>", …]}`. */
export async function mergeMatched(ctx: AppContext, ids: number[], principal: Principal): Promise<{ parent: string; children: string[] }> {
  const m = await mergeIssues(ctx.db.pool, ids, principal.userId);
  return { parent: String(m.parent), children: m.children.map(String) };
}

/** issues/{id}/hashes/?id=<hash>&id=…: those fingerprints and their events become a new issue (202). */
export async function unmerge(ctx: AppContext, _req: IncomingMessage, res: ServerResponse, params: Params, url: URL, principal: Principal): Promise<void> {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  const issue = await requireIssue(ctx.db.pool, params.issueId!, principal);
  const hashes = url.searchParams.getAll('id').filter(Boolean);
  if (!hashes.length) throw new HttpError('invalid_request', 'unmerge needs id=<hash> parameters (GET …/hashes/ lists them)');
  const u = await unmergeHashes(ctx.db.pool, issue.id, hashes, principal.userId);
  sendJson(res, 202, { source: String(u.source), destination: String(u.destination), fingerprints: u.fingerprints });
}
