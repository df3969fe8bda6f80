import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatCursor, pageLinks, parseCursor } from '../api/pagination.js';
import { ISSUE_SORTS, issueStats, listIssues, type IssueRow, type IssueSort } from '../api/queries/issues.js';
import { parseSearch } from '../api/search.js';
import { collabFacts } from '../collab/facts.js';
import { shortId } from '../api/short-id.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { pageSession } from './auth.js';
import { sparkline } from './charts.js';
import { html, qs } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';
import { projectBySlug } from './project-context.js';
import { tagValues } from './queries.js';
import { timeEl } from './values.js';
import { canMerge, mergeBox, mergeForm } from './merge-view.js';
import { projectBacklog } from '../queue/backlog.js';
import { backlogNotice } from './backlog-view.js';

// The issue stream of one project: the API's query language in a text box, plus menus for status,
// level, environment, release and sort that add the same filters to it. 24 hourly bars per issue.

const PAGE_SIZE = 50;
const STATUSES = ['unresolved', 'resolved', 'ignored', 'regressed', 'all'];
const LEVELS = ['', 'fatal', 'error', 'warning', 'info', 'debug'];
const SORT_LABELS: Record<IssueSort, string> = { date: 'Last seen', new: 'First seen', freq: 'Events', user: 'Users' };

function quote(v: string): string {
  return /^[^\s"\\]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

export interface StreamParams {
  q: string;
  status: string;
  level: string;
  environment: string;
  release: string;
  sort: IssueSort;
  cursor: string;
}

export function streamParams(url: URL): StreamParams {
  const g = (k: string) => url.searchParams.get(k) ?? '';
  const sort = g('sort') as IssueSort;
  return {
    q: g('q'),
    status: url.searchParams.has('status') ? g('status') : 'unresolved',
    level: g('level'),
    environment: g('environment'),
    release: g('release'),
    sort: ISSUE_SORTS.includes(sort) ? sort : 'date',
    cursor: g('cursor'),
  };
}

/** The full search: the menus' filters followed by what was typed. */
export function streamQuery(p: StreamParams): string {
  const parts: string[] = [];
  if (p.status && p.status !== 'all' && STATUSES.includes(p.status)) parts.push(`is:${p.status}`);
  if (p.level) parts.push(`level:${quote(p.level)}`);
  if (p.environment) parts.push(`environment:${quote(p.environment)}`);
  if (p.release) parts.push(`release:${quote(p.release)}`);
  if (p.q.trim()) parts.push(p.q.trim());
  return parts.join(' ');
}

function select(name: string, label: string, current: string, options: [string, string][]) {
  return html`<div><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}" data-autosubmit>${options.map(
    ([v, l]) => html`<option value="${v}"${v === current ? html` selected` : ''}>${l}</option>`,
  )}</select></div>`;
}

function statusLabel(i: IssueRow) {
  const s = i.status === 'unresolved' && i.substatus === 'regressed' ? 'regressed' : i.status;
  return html`<span class="status status-${s}">${s}</span>`;
}

export async function getIssues(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'event:read');
  const userId = Number(session.user.id);
  const p = streamParams(url);
  // A query the search language rejects (is:bogus, a bad date, over SEARCH_MAX_FILTERS) is shown on
  // the page, with status 400, not as a bare error.
  let searchError: string | null = null;
  const list = async () => {
    try {
      const search = parseSearch(streamQuery(p), ctx.config);
      const cursor = parseCursor(p.cursor || null);
      return { cursor, ...(await listIssues(ctx.db.pool, { projects: [{ id: project.id, slug: project.slug }], search, sort: p.sort, periodMs: null, limit: PAGE_SIZE, cursor, userId })) };
    } catch (e) {
      if (!(e instanceof HttpError) || e.code !== 'invalid_request') throw e;
      searchError = e.detail;
      return { cursor: null, rows: [] as IssueRow[], more: false };
    }
  };
  const [{ rows, more, cursor }, environments, releases, backlog] = await Promise.all([
    list(),
    tagValues(ctx.db.pool, project.id, 'environment'),
    tagValues(ctx.db.pool, project.id, 'release'),
    projectBacklog(ctx.db.pool, project.id),
  ]);
  const [stats, facts] = await Promise.all([issueStats(ctx.db.pool, rows, 3600, 24), collabFacts(ctx.db.pool, rows, userId)]);
  const links = pageLinks(rows, (r) => ({ value: r.sort_value, id: r.id }), cursor, more);
  const base = `/projects/${encodeURIComponent(project.slug)}/issues`;
  const keep = { q: p.q, status: p.status, level: p.level, environment: p.environment, release: p.release, sort: p.sort };
  const withOption = (list: string[], cur: string) => (cur && !list.includes(cur) ? [cur, ...list] : list);
  const merging = rows.length > 1 && canMerge(session);
  const body = html`<h1>Issues</h1>
${backlogNotice(backlog)}
<form class="filters" method="get" action="${base}" role="search">
  <div class="q"><label for="f-q">Search</label><input id="f-q" name="q" type="search" value="${p.q}" placeholder="TypeError  browser:Chrome  !level:info  assigned:me  is:unassigned  is:bookmarked"></div>
  ${select('status', 'Status', p.status, STATUSES.map((s) => [s, s]))}
  ${select('level', 'Level', p.level, LEVELS.map((l) => [l, l || 'any']))}
  ${select('environment', 'Environment', p.environment, [['', 'any'], ...withOption(environments, p.environment).map((e): [string, string] => [e, e])])}
  ${select('release', 'Release', p.release, [['', 'any'], ...withOption(releases, p.release).map((r): [string, string] => [r, r])])}
  ${select('sort', 'Sort by', p.sort, ISSUE_SORTS.map((s) => [s, SORT_LABELS[s]]))}
  <div><button type="submit" class="primary">Search</button></div>
</form>
${searchError ? html`<p class="error" role="alert">${searchError}</p>` : ''}
${rows.length === 0
  ? html`<p class="empty">No issues match <code>${streamQuery(p) || 'everything'}</code>.</p>`
  : html`${merging ? mergeForm(project.slug, session) : ''}<table class="stream">
<thead><tr>${merging ? html`<th>Select</th>` : ''}<th>Issue</th><th>Last 24 h</th><th class="num">Events</th><th class="num">Users</th><th>First seen</th><th>Last seen</th></tr></thead>
<tbody>
${rows.map((i) => {
  const series = (stats.get(i.id) ?? []).map(([, n]) => n);
  const f = facts.get(i.id);
  return html`<tr class="issue-row">${merging ? mergeBox(i) : ''}
  <td><a class="issue-title" href="/issues/${i.id}">${i.title}</a>
    <div class="issue-sub"><span class="level level-${i.level}">${i.level}</span> ${statusLabel(i)} · <span class="mono">${shortId(i.project_slug, i.short_id)}</span>${i.culprit ? html` · <span class="mono">${i.culprit}</span>` : ''}${i.is_unhandled ? html` · <strong>unhandled</strong>` : ''}${f?.assignee ? html` · <span class="assignee">assigned to ${f.assignee.email}</span>` : ''}${f?.bookmarked ? html` · <span class="bookmarked" title="bookmarked by you">★</span>` : ''}${f?.numComments ? html` · ${String(f.numComments)} comment${f.numComments === 1 ? '' : 's'}` : ''}</div></td>
  <td>${sparkline(series, { label: `${series.reduce((a, b) => a + b, 0)} events in the last 24 hours` })}</td>
  <td class="num">${i.event_count.toLocaleString('en')}</td>
  <td class="num">${i.user_count.toLocaleString('en')}</td>
  <td>${timeEl(i.first_seen)}</td>
  <td>${timeEl(i.last_seen)}</td>
</tr>`;
})}
</tbody>
</table>
<nav class="pager">
  ${links.hasPrev ? html`<a href="${base}${qs({ ...keep, cursor: formatCursor(links.prev) })}">← Newer</a>` : ''}
  ${links.hasNext ? html`<a href="${base}${qs({ ...keep, cursor: formatCursor(links.next) })}">Older →</a>` : ''}
</nav>`}`;
  sendHtml(res, searchError ? 400 : 200, layout({ title: `Issues · ${project.name}`, session, project, section: 'issues', body }));
}
