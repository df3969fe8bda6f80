import { expect } from 'vitest';
import type { RunningServer } from '../helpers/server.js';

// Talking to the UI over HTTP like a browser without one: forms, cookies, hidden CSRF fields.

export function cookiesOf(r: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of r.headers.getSetCookie()) {
    const [kv] = c.split(';');
    const eq = kv!.indexOf('=');
    out[kv!.slice(0, eq)] = kv!.slice(eq + 1);
  }
  return out;
}

export function hidden(page: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  if (!m) throw new Error(`no hidden field ${name} in page`);
  return m[1]!;
}

export async function postForm(server: RunningServer, path: string, fields: Record<string, string>, cookie = ''): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams(fields).toString(),
  });
}

export async function loginForm(server: RunningServer): Promise<{ csrf: string; cookie: string }> {
  const r = await fetch(`${server.url}/login`);
  expect(r.status).toBe(200);
  const [name, value] = Object.entries(cookiesOf(r)).find(([k]) => k.endsWith('cc_login_csrf'))!;
  return { csrf: hidden(await r.text(), '_csrf'), cookie: `${name}=${value}` };
}

/** Logs in; returns the Cookie header value of the session. */
export async function logIn(server: RunningServer, email: string, password: string): Promise<string> {
  const f = await loginForm(server);
  const r = await postForm(server, '/login', { _csrf: f.csrf, email, password, next: '/projects' }, f.cookie);
  expect(r.status).toBe(303);
  const [name, value] = Object.entries(cookiesOf(r)).find(([k]) => k.endsWith('cc_session'))!;
  return `${name}=${value}`;
}

export async function getPage(server: RunningServer, path: string, cookie: string): Promise<string> {
  const r = await fetch(`${server.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  expect(r.status, `GET ${path}`).toBe(200);
  expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  return r.text();
}
