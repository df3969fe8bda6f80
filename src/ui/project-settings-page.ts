import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { setProjectRateLimit } from '../ratelimit/queries.js';
import { createProject, deleteProject, MAX_NAME_CHARS, MAX_PLATFORM_CHARS, projectFieldsProblem, updateProject, type ProjectRow } from '../storage/projects.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { adminPage, adminPost, adminProject } from './project-admin.js';
import type { Session } from './sessions.js';

// Creating a project, its settings (name, platform, rate limit, links to the other settings pages)
// and deleting it with a typed confirmation. Admins and owners only (project:write; deleting:
// project:admin). The storage functions are the API's and the CLI's.

/** Platforms offered in the form (Sentry's ids); any other text is accepted too. */
const PLATFORMS = ['javascript', 'javascript-react', 'node', 'python', 'python-django', 'go', 'java', 'android', 'apple-ios', 'ruby', 'rust', 'php', 'dotnet', 'native', 'other'];

function platformList() {
  return html`<datalist id="platforms">${PLATFORMS.map((p) => html`<option value="${p}">`)}</datalist>`;
}

function newPage(session: Session, values: { name: string; platform: string }, error?: string) {
  return layout({ title: 'New project', session, section: 'projects', body: html`<h1>New project</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/projects/new">${csrfField(session)}
<p><label for="name">Name</label> <input id="name" name="name" required maxlength="${String(MAX_NAME_CHARS)}" value="${values.name}"></p>
<p><label for="platform">Platform</label> <input id="platform" name="platform" list="platforms" maxlength="${String(MAX_PLATFORM_CHARS)}" value="${values.platform}">${platformList()}</p>
<p class="muted">The slug (in URLs and the API) is made from the name; the project gets one DSN key.</p>
<p><button type="submit" class="primary">Create project</button></p>
</form>` });
}

export async function getNewProject(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const a = await adminPage(ctx, req, res, url);
  if (!a) return;
  sendHtml(res, 200, newPage(a.session, { name: '', platform: '' }));
}

export async function postNewProject(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await adminPost(ctx, req);
  const values = { name: form.get('name') ?? '', platform: (form.get('platform') ?? '').trim() };
  const error = projectFieldsProblem(values);
  if (error) {
    sendHtml(res, 400, newPage(session, values, error));
    return;
  }
  const { project } = await createProject(ctx.db.pool, { name: values.name, platform: values.platform || undefined });
  ctx.log.info('project created', { project_id: project.id, slug: project.slug, by: session.user.email });
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/keys?created=1`);
}

function settingsPage(ctx: AppContext, session: Session, project: ProjectRow, values: { name: string; platform: string; rateLimit: string }, message: { error?: string; saved?: boolean }) {
  const base = `/projects/${encodeURIComponent(project.slug)}`;
  const def = ctx.config.rateLimitPerProjectPerSec;
  return layout({ title: `Settings · ${project.name}`, session, project, section: 'settings', body: html`<h1>Project settings</h1>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}${message.saved ? html`<p role="status">Saved.</p>` : ''}
<form method="post" action="${base}/settings">${csrfField(session)}
<p><label for="name">Name</label> <input id="name" name="name" required maxlength="${String(MAX_NAME_CHARS)}" value="${values.name}">
<span class="muted">slug <code>${project.slug}</code> (kept: links, the API and sentry-cli use it)</span></p>
<p><label for="platform">Platform</label> <input id="platform" name="platform" list="platforms" maxlength="${String(MAX_PLATFORM_CHARS)}" value="${values.platform}">${platformList()}</p>
<p><label for="rate_limit">Rate limit</label> <input id="rate_limit" name="rate_limit" inputmode="numeric" size="8" value="${values.rateLimit}" placeholder="${String(def)}"> requests/second per data category
<br><span class="muted">empty: the default, ${def ? `${def}/s` : 'unlimited'} (RATE_LIMIT_PER_PROJECT_PER_SEC); 0: unlimited. Each DSN key may have its own limit too (Keys).</span></p>
<p><button type="submit" class="primary">Save</button></p>
</form>
<h2>More settings</h2>
<ul>
<li><a href="${base}/keys">DSN keys</a>: create, disable, rotate, per-key rate limits</li>
<li><a href="${base}/grouping">Grouping rules</a></li>
<li><a href="${base}/scrubbing">Data scrubbing</a></li>
<li><a href="${base}/alerts">Alerts</a></li>
<li><a href="${base}/storage">Storage and retention</a></li>
</ul>
<h2>Delete the project</h2>
<p>Deletes the project, its keys and everything it stored: payloads, events, issues, sessions, attachments, source maps,
alert rules. It cannot be undone. Type the project's slug, <code>${project.slug}</code>, to confirm.</p>
<form method="post" action="${base}/delete">${csrfField(session)}
<p><label for="confirm">Slug</label> <input id="confirm" name="confirm" autocomplete="off" required> <button type="submit" class="danger">Delete project</button></p>
</form>` });
}

export async function getProjectSettings(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const a = await adminPage(ctx, req, res, url);
  if (!a) return;
  const project = await adminProject(ctx, a.who, slug);
  const values = { name: project.name, platform: project.platform ?? '', rateLimit: project.rate_limit_per_sec?.toString() ?? '' };
  sendHtml(res, 200, settingsPage(ctx, a.session, project, values, { saved: url.searchParams.has('saved') }));
}

export async function postProjectSettings(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, who, form } = await adminPost(ctx, req);
  const project = await adminProject(ctx, who, slug);
  const values = { name: form.get('name') ?? '', platform: (form.get('platform') ?? '').trim(), rateLimit: (form.get('rate_limit') ?? '').trim() };
  let error = projectFieldsProblem(values);
  const rate = values.rateLimit === '' ? null : /^\d{1,10}$/.test(values.rateLimit) && Number(values.rateLimit) <= 2_147_483_647 ? Number(values.rateLimit) : NaN;
  if (!error && Number.isNaN(rate)) error = 'Rate limit must be a whole number ≥ 0, or empty for the default';
  if (error) {
    sendHtml(res, 400, settingsPage(ctx, session, project, values, { error }));
    return;
  }
  await updateProject(ctx.db.pool, project.id, { name: values.name, platform: values.platform });
  await setProjectRateLimit(ctx.db.pool, project.id, rate);
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/settings?saved=1`);
}

/** POST …/delete with confirm = the slug: deletes the project (project:admin); any other text is a 400 and deletes nothing. */
export async function postDeleteProject(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, who, form } = await adminPost(ctx, req, 'project:admin');
  const project = await adminProject(ctx, who, slug);
  if ((form.get('confirm') ?? '').trim() !== project.slug) {
    throw new HttpError('invalid_request', `To delete the project, type its slug (${project.slug}) exactly; nothing was deleted.`);
  }
  await deleteProject(ctx.db.pool, project.id, { batchSize: ctx.config.retentionBatchSize, log: ctx.log, by: session.user.email });
  redirect(res, `/projects?deleted=${encodeURIComponent(project.slug)}`);
}
