import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

// A small method + path router: patterns like '/api/:projectId/envelope/?' where ':name' matches one
// segment and a trailing '/?' makes the slash optional. Routes are tried in registration order.

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void> | void;

interface Route {
  method: string;
  pattern: string;
  re: RegExp;
  names: string[];
  handler: Handler;
  /** what answers this route's errors: 'page' routes (the web UI) answer an HTML page, others JSON */
  kind: 'json' | 'page';
}

/** A path segment's value; malformed percent-encoding (`%zz`, half a UTF-8 sequence) is the client's error. */
function decodeSegment(s: string): string {
  let v: string;
  try {
    v = decodeURIComponent(s);
  } catch {
    throw new HttpError('invalid_request', `malformed percent-encoding in the path segment ${JSON.stringify(s.slice(0, 100))}`);
  }
  // PostgreSQL text cannot hold NUL: refused here rather than by the database, as a 500
  if (v.includes('\0')) throw new HttpError('invalid_request', 'a path segment holds a NUL character (%00)');
  return v;
}

export class Router {
  private routes: Route[] = [];

  add(method: string | string[], pattern: string, handler: Handler, kind: 'json' | 'page' = 'json'): this {
    for (const m of Array.isArray(method) ? method : [method]) {
      const names: string[] = [];
      const src = pattern
        .split('/')
        .map((seg) => {
          if (seg.startsWith(':')) {
            const optional = seg.endsWith('?');
            names.push(seg.slice(1).replace(/\?$/, ''));
            return optional ? '([^/]*)' : '([^/]+)';
          }
          return seg.replace(/[.*+^${}()|[\]\\]/g, '\\$&').replace(/\\\?$/, '?');
        })
        .join('/')
        .replace(/\/\?$/, '/*'); // tolerate missing or repeated trailing slashes, as Relay does
      this.routes.push({ method: m.toUpperCase(), pattern, re: new RegExp(`^${src}$`), names, handler, kind });
    }
    return this;
  }

  /** How errors on this path are answered: as its first matching route's kind; an unknown path as JSON. */
  kindOf(pathname: string): 'json' | 'page' {
    return this.routes.find((r) => r.re.test(pathname))?.kind ?? 'json';
  }

  /** Finds the route; throws 404 for an unknown path and 405 for a known path with another method. */
  match(method: string, pathname: string): { handler: Handler; params: Params } {
    let pathKnown = false;
    for (const r of this.routes) {
      const m = r.re.exec(pathname);
      if (!m) continue;
      pathKnown = true;
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
      const params: Params = {};
      r.names.forEach((n, i) => (params[n] = decodeSegment(m[i + 1] ?? '')));
      return { handler: r.handler, params };
    }
    if (pathKnown) throw new HttpError('method_not_allowed', `method ${method} not allowed on ${pathname}`);
    throw new HttpError('not_found', `no route for ${method} ${pathname}`);
  }
}
