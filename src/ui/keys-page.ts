import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { dsn } from '../storage/dsn.js';
import { createKey, labelProblem, listKeys, MAX_LABEL_CHARS, MAX_WINDOW_SECS, parseKeyRateLimit, rotateKey, updateKey, type KeyRateLimit } from '../storage/project-keys.js';
import type { ProjectKeyRow, ProjectRow } from '../storage/projects.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { adminPage, adminPost, adminProject } from './project-admin.js';
import type { Session } from './sessions.js';
import { sdkSnippets } from './snippets.js';

// A project's DSN keys: list with their DSNs, create (with a name and an optional rate limit),
// disable / enable, rotate (a new key replaces the old one, which is disabled), per-key rate limit.
// The same storage functions as the API's keys/ routes. Ingest sees a change within INGEST_KEY_CACHE_MS.

function limitText(k: ProjectKeyRow): string {
  return k.rate_limit_count && k.rate_limit_window ? `${k.rate_limit_count} errors / ${k.rate_limit_window} s` : 'none';
}

function limitFields(k: ProjectKeyRow | null) {
  return html`<label>at most <input name="count" inputmode="numeric" size="6" value="${k?.rate_limit_count?.toString() ?? ''}" aria-label="errors"></label>
<label>errors per <input name="window" inputmode="numeric" size="6" value="${k?.rate_limit_window?.toString() ?? ''}" aria-label="seconds"> seconds</label>`;
}

function page(ctx: AppContext, session: Session, project: ProjectRow, keys: ProjectKeyRow[], created: boolean) {
  const base = `/projects/${encodeURIComponent(project.slug)}/keys`;
  const first = keys.find((k) => !k.disabled);
  return layout({ title: `Keys · ${project.name}`, session, project, section: 'settings', body: html`<h1>DSN keys</h1>
${created ? html`<p role="status">Project created. Paste its DSN into your SDK's <code>init</code>.</p>` : ''}
<p class="muted">A key disabled, rotated or limited here takes effect at ingest within ${String(ctx.config.ingestKeyCacheMs / 1000)} s (INGEST_KEY_CACHE_MS).
A key's rate limit counts error events (errors, messages, security reports), as Sentry's does; the project's own limit is on its Settings page.</p>
<table>
<thead><tr><th>Name</th><th>DSN</th><th>State</th><th>Rate limit</th><th></th></tr></thead>
<tbody>
${keys.map((k) => html`<tr id="key-${k.public_key}">
  <td>${k.label}</td>
  <td><code data-copy>${dsn(ctx.config, k.public_key, project.id)}</code></td>
  <td>${k.disabled ? html`disabled${k.replaced_by ? html` (rotated: replaced by <code>${k.replaced_by.slice(0, 8)}…</code>)` : ''}` : 'active'}</td>
  <td>${limitText(k)}
    <form method="post" action="${base}/${k.public_key}/rate-limit">${csrfField(session)}${limitFields(k)} <button type="submit">Set</button></form></td>
  <td><form class="inline" method="post" action="${base}/${k.public_key}/state"${k.disabled ? '' : html` data-confirm="Disable this key? SDKs sending with its DSN will be refused."`}>${csrfField(session)}<input type="hidden" name="active" value="${k.disabled ? '1' : '0'}"><button type="submit">${k.disabled ? 'Enable' : 'Disable'}</button></form>
    ${k.disabled ? '' : html`<form class="inline" method="post" action="${base}/${k.public_key}/rotate" data-confirm="Rotate this key? A new DSN replaces it and SDKs still sending with this one will be refused.">${csrfField(session)}<button type="submit">Rotate</button></form>`}</td>
</tr>`)}
</tbody>
</table>
<h2>New key</h2>
<form method="post" action="${base}">${csrfField(session)}
<p><label for="label">Name</label> <input id="label" name="label" required maxlength="${String(MAX_LABEL_CHARS)}"></p>
<p>Rate limit (optional): ${limitFields(null)} <span class="muted">window up to ${String(MAX_WINDOW_SECS)} s</span></p>
<p><button type="submit" class="primary">Create key</button></p>
</form>
${first ? html`<h2>Set up an SDK</h2>
${sdkSnippets(dsn(ctx.config, first.public_key, project.id)).map((s) => html`<details class="snippet"><summary>${s.label}</summary>
<pre><code>${s.install}</code></pre>
<pre data-copy><code>${s.code}</code></pre>
</details>`)}` : ''}` });
}

export async function getKeys(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const a = await adminPage(ctx, req, res, url);
  if (!a) return;
  const project = await adminProject(ctx, a.who, slug);
  sendHtml(res, 200, page(ctx, a.session, project, await listKeys(ctx.db.pool, project.id), url.searchParams.has('created')));
}

/** The form's count and window: both empty = no limit; otherwise whole numbers (a 400 page names the problem). */
function formLimit(form: URLSearchParams): KeyRateLimit | null {
  const count = (form.get('count') ?? '').trim();
  const window = (form.get('window') ?? '').trim();
  if (count === '' && window === '') return null;
  if (!/^\d{1,10}$/.test(count) || !/^\d{1,10}$/.test(window)) throw new HttpError('invalid_request', 'A rate limit needs a whole number of errors and of seconds (both empty: no limit); nothing was changed.');
  const r = parseKeyRateLimit({ count: Number(count), window: Number(window) });
  if (typeof r === 'string') throw new HttpError('invalid_request', `${r}; nothing was changed.`);
  return r;
}

export async function postCreateKey(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { who, form } = await adminPost(ctx, req);
  const project = await adminProject(ctx, who, slug);
  const label = form.get('label') ?? '';
  const problem = labelProblem(label);
  if (problem) throw new HttpError('invalid_request', problem);
  const k = await createKey(ctx.db.pool, project.id, { label, rateLimit: formLimit(form) });
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/keys#key-${k.public_key}`);
}

/** POST …/keys/{key}/state|rotate|rate-limit */
export async function postKeyAction(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string, key: string, action: string): Promise<void> {
  const { session, who, form } = await adminPost(ctx, req);
  const project = await adminProject(ctx, who, slug);
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(key)) throw new HttpError('not_found', `no key ${key} in this project`);
  let target = key;
  if (action === 'state') {
    const active = form.get('active');
    if (active !== '0' && active !== '1') throw new HttpError('invalid_request', 'active must be 0 or 1');
    if (!(await updateKey(ctx.db.pool, project.id, key, { active: active === '1' }))) throw new HttpError('not_found', `no key ${key} in this project`);
  } else if (action === 'rate-limit') {
    if (!(await updateKey(ctx.db.pool, project.id, key, { rateLimit: formLimit(form) }))) throw new HttpError('not_found', `no key ${key} in this project`);
  } else if (action === 'rotate') {
    const r = await rotateKey(ctx.db.pool, project.id, key);
    if (!r) throw new HttpError('not_found', `no key ${key} in this project`);
    ctx.log.info('project key rotated', { project_id: project.id, old: key.slice(0, 8), new: r.key.public_key.slice(0, 8), by: session.user.email });
    target = r.key.public_key;
  } else throw new HttpError('not_found', `no action ${action}`);
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/keys#key-${target}`);
}
