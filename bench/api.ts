import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../src/paths.js';
import { loadConfig } from '../src/config/index.js';
import type { BenchDb } from './db.js';

// The read API as a user reaches it: a token made with `crash-cache-cli token create`, then plain
// HTTP GETs with `Authorization: Bearer`.

const run = promisify(execFile);

export async function createToken(db: BenchDb): Promise<string> {
  const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'bin', 'crash-cache-cli'), 'token', 'create', '--name', 'bench'], {
    env: { ...process.env, DATABASE_URL: db.url },
    timeout: 60_000,
  });
  const token = stdout.trim().split('\n').pop()!.trim();
  if (!/^[0-9a-zA-Z_-]{16,}$/.test(token)) throw new Error(`token create printed no token:\n${stdout}`);
  return token;
}

export interface ApiAnswer {
  status: number;
  body: string;
}

export async function apiGet(port: number, path: string, token: string): Promise<ApiAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
}

/** A 404 from the router (the route does not exist yet), as opposed to a 404 for a missing object. */
export function isMissingRoute(a: ApiAnswer): boolean {
  return a.status === 404 && a.body.includes('no route for');
}


/** The organization slug of the API's URLs (ORGANIZATION_SLUG, read where every setting is read). */
export const ORG = loadConfig().organizationSlug;

/** POSTs `body` to this machine's server; resolves with the status (the answer's body is drained). */
export function post(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
