import type { IncomingMessage, ServerResponse } from 'node:http';
import { groupingOptionsError } from '../grouping/validate.js';
import type { AppContext } from '../context.js';
import { setProjectGrouping, type ProjectRow } from '../storage/projects.js';
import { pageSession, postSession } from './auth.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { projectBySlug } from './project-context.js';
import type { Session } from './sessions.js';

// A project's own grouping rules (the same settings as PUT /api/0/projects/{org}/{project}/): edited
// as text, checked line by line before they are saved, applied to events digested from then on.

function page(session: Session, project: ProjectRow, values: { enhancements: string; fingerprinting: string }, message: { error?: string; saved?: boolean }) {
  return layout({ title: `Grouping · ${project.name}`, session, project, section: 'grouping', body: html`<h1>Grouping rules</h1>
<p>Events with the same fingerprint are one issue. These rules come before the built-in ones and apply to events that
arrive from now on (within a few seconds); existing issues stay as they are.</p>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}${message.saved ? html`<p role="status">Saved.</p>` : ''}
<form method="post" action="/projects/${encodeURIComponent(project.slug)}/grouping">${csrfField(session)}
<h2><label for="fingerprinting">Fingerprint rules</label></h2>
<p class="muted">One per line: matchers, <code>-&gt;</code>, the fingerprint. E.g. <code>error.type:DatabaseError -&gt; database</code>,
<code>message:"*timed out*" -&gt; timeouts, {{ transaction }}</code>. Matchers: <code>error.type</code>, <code>error.value</code>,
<code>message</code>, <code>logger</code>, <code>level</code>, <code>tags.NAME</code>, <code>stack.function</code>, <code>stack.module</code>,
<code>stack.abs_path</code>, <code>family</code>, <code>sdk</code>, <code>release</code>.</p>
<textarea id="fingerprinting" name="fingerprinting" rows="8" cols="100" spellcheck="false">${values.fingerprinting}</textarea>
<h2><label for="enhancements">Stack trace rules</label></h2>
<p class="muted">One per line: frame matchers and actions. E.g. <code>module:app.logging -group</code> (frames of that module do not
count), <code>stack.function:handle_error ^-group</code> (nor do their callers), <code>path:**/vendor/** -app</code> (not in-app).</p>
<textarea id="enhancements" name="enhancements" rows="8" cols="100" spellcheck="false">${values.enhancements}</textarea>
<p><button type="submit" class="primary">Save</button></p>
</form>` });
}

export async function getGrouping(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  sendHtml(res, 200, page(session, project, { enhancements: project.grouping_enhancements, fingerprinting: project.fingerprinting_rules }, { saved: url.searchParams.has('saved') }));
}

export async function postGrouping(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  const values = { enhancements: form.get('enhancements') ?? '', fingerprinting: form.get('fingerprinting') ?? '' };
  const error = groupingOptionsError({ enhancements: values.enhancements, fingerprintingRules: values.fingerprinting });
  if (error) {
    sendHtml(res, 400, page(session, project, values, { error }));
    return;
  }
  await setProjectGrouping(ctx.db.pool, project.id, { enhancements: values.enhancements, fingerprintingRules: values.fingerprinting });
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/grouping?saved=1`);
}
