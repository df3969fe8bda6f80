import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { SECURITY_HEADERS } from './http.js';

// The stylesheet and the script, read from the source tree (tsc does not copy non-TS files into
// dist/) once, kept in memory, revalidated by ETag. Only the names listed here are served.
const DIR = join(PACKAGE_ROOT, 'src', 'ui', 'static');
const TYPES: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
};

const cache = new Map<string, { body: Buffer; etag: string }>();

function load(name: string): { body: Buffer; etag: string } {
  let f = cache.get(name);
  if (!f) {
    const body = readFileSync(join(DIR, name));
    f = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    cache.set(name, f);
  }
  return f;
}

export function serveStatic(req: IncomingMessage, res: ServerResponse, name: string): void {
  const type = TYPES[name];
  if (!type) throw new HttpError('not_found', `no static file ${name}`);
  const f = load(name);
  const headers = { ...SECURITY_HEADERS, 'content-type': type, etag: f.etag, 'cache-control': 'no-cache' };
  if (req.headers['if-none-match'] === f.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': f.body.length });
  res.end(req.method === 'HEAD' ? undefined : f.body);
}
