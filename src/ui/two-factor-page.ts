import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderSVG } from 'uqr';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { base32, otpauthUri } from '../auth/totp.js';
import { enableTwoFactor, pendingTwoFactor, RECOVERY_CODES, startTwoFactorSetup, twoFactorState } from '../members/two-factor.js';
import { postSession } from './auth.js';
import { mailSecurityChange } from '../members/security-mail.js';
import { html, trusted, type Html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import type { Session } from './sessions.js';

// Two-factor log-in on the Profile page (src/members/two-factor.ts): "Set up" shows a new secret as a
// QR code and as text, and asks for the first code the authenticator app makes from it; that code
// turns it on and the page shows the recovery codes, once. Turning it off (profile-page.ts) asks for the password.
// Users who log in by single sign-on have no password here: their provider's own second factor applies.

/** The Profile page's section. */
export async function twoFactorSection(ctx: AppContext, session: Session, hasPassword: boolean): Promise<Html> {
  if (!hasPassword) return html`<h2>Two-factor log-in</h2><p class="muted">You log in with single sign-on: your provider's own second factor applies.</p>`;
  const state = await twoFactorState(ctx.db.pool, Number(session.user.id));
  if (!state.enabledAt) {
    return html`<h2>Two-factor log-in</h2>
<form method="post" action="/profile/two-factor/setup" id="two-factor">${csrfField(session)}
<p id="two-factor-state">Off: your password alone logs you in. <button type="submit">Set up</button> <span class="muted">with an authenticator app (any that reads a QR code: 1Password, Google Authenticator, Aegis…).</span></p>
</form>`;
  }
  return html`<h2>Two-factor log-in</h2>
<p id="two-factor-state">On since ${state.enabledAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: a log-in asks for your authenticator app's code after your password. ${String(state.recoveryLeft)} of ${String(RECOVERY_CODES)} recovery codes left.</p>
<form method="post" action="/profile/two-factor/off" id="two-factor-off">${csrfField(session)}
<input type="email" name="username" value="${session.user.email}" autocomplete="username" hidden>
<label for="two-factor-password">Your password, to turn it off</label><input id="two-factor-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Turn off</button>
</form>`;
}

function setupPage(ctx: AppContext, session: Session, secret: Buffer, error: string | null): Html {
  const uri = otpauthUri(secret, session.user.email, ctx.config.organizationSlug === 'crash-cache' ? 'crash-cache' : `crash-cache ${ctx.config.organizationSlug}`);
  // uqr's SVG is rect and path elements computed from the code's modules: no text of the URI in it
  const qr = trusted(renderSVG(uri, { border: 2 }));
  return layout({ title: 'Set up two-factor log-in', session, section: 'profile', body: html`<h1>Set up two-factor log-in</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p>Scan this with your authenticator app, or type the key into it.</p>
<div class="qr" id="two-factor-qr">${qr}</div>
<p>Key: <code id="two-factor-key">${base32(secret).replace(/(.{4})/g, '$1 ').trim()}</code></p>
<form method="post" action="/profile/two-factor/enable" id="two-factor-enable">${csrfField(session)}
<label for="code">The 6-digit code the app shows now</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus>
<button type="submit" class="primary">Turn on</button>
</form>
<p><a href="/profile">Cancel</a></p>` });
}

export async function postTwoFactorSetup(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session } = await postSession(ctx, req);
  const secret = await startTwoFactorSetup(ctx.db.pool, Number(session.user.id));
  if (!secret) throw new HttpError('invalid_request', 'two-factor log-in is on already: turn it off (with your password) before setting it up again');
  sendHtml(res, 200, setupPage(ctx, session, secret, null));
}

export async function postTwoFactorEnable(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const userId = Number(session.user.id);
  const codes = await enableTwoFactor(ctx.db.pool, userId, form.get('code') ?? '');
  if (!codes) {
    const secret = await pendingTwoFactor(ctx.db.pool, userId);
    if (!secret) return redirect(res, '/profile');
    return sendHtml(res, 400, setupPage(ctx, session, secret, 'That code is not the one the app shows now (codes change every 30 seconds; the phone\'s clock must be right). Nothing changed.'));
  }
  ctx.log.info('two-factor log-in turned on', { user: userId });
  await mailSecurityChange(ctx, req, session.user, 'two-factor on');
  sendHtml(res, 200, layout({ title: 'Two-factor log-in is on', session, section: 'profile', body: html`<h1>Two-factor log-in is on</h1>
<p>Keep these recovery codes somewhere safe, apart from your phone. Each logs you in once in place of a code; they are shown only now.</p>
<ul id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<p><a href="/profile">Back to your profile</a></p>` }));
}
