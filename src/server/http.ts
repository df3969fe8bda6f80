import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Router } from '../http/router.js';
import { sendError } from '../http/respond.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { registerIngestRoutes } from '../ingest/routes.js';
import { isIngestPath, setCorsHeaders } from '../ingest/cors.js';
import { registerApiRoutes } from '../api/routes.js';
import { registerUiRoutes } from '../ui/routes.js';
import { sendErrorPage } from '../ui/error-page.js';
import { registerMetricsRoute, timeRequest } from '../metrics/http.js';

/** The label of a path in crash_cache_http_request_duration_seconds: a closed set, never the path itself. */
function partOf(path: string): string {
  if (isIngestPath(path)) return 'ingest';
  if (path.startsWith('/api/')) return 'api';
  if (path.startsWith('/health')) return 'health';
  if (path === '/metrics') return 'metrics';
  return 'ui';
}

/** The largest body of a refused API or UI request that is read before the answer (see the catch below). */
const REFUSED_BODY_READ_BYTES = 64 * 1024;

/** Reads and drops what is left of a request body, for at most 5 s. */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 5_000);
    req.once('end', done).once('close', done).once('error', done).resume();
  });
}

export interface HttpService {
  server: Server;
  close(): Promise<void>;
}

/** Builds the router from each part's routes and serves it. */
export function createHttpService(ctx: AppContext): HttpService {
  const router = new Router();
  const ingest = registerIngestRoutes(router, ctx);
  registerApiRoutes(router, ctx);
  registerMetricsRoute(router, ctx.config);
  registerUiRoutes(router, ctx);
  let closing = false;
  const server = createServer((req, res) => {
    // During shutdown, answer what is in flight but let no keep-alive connection carry another request.
    if (closing) res.setHeader('connection', 'close');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"detail":"malformed request URL"}');
      return;
    }
    timeRequest(res, partOf(url.pathname));
    Promise.resolve()
      .then(() => {
        // API and UI only: ingest has its own limits and answers (an unknown key with NUL is a 401 there)
        if (!isIngestPath(url.pathname)) {
          if ((req.url?.length ?? 0) > ctx.config.maxUrlChars) {
            throw new HttpError('uri_too_long', `request URL longer than ${ctx.config.maxUrlChars} characters (MAX_URL_CHARS)`);
          }
          // no parameter may hold NUL (PostgreSQL text cannot): one check here instead of one per parameter
          if (/%00/.test(url.search)) throw new HttpError('invalid_request', 'a query parameter holds a NUL character (%00)');
        }
        const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
        return handler(req, res, params, url);
      })
      .catch(async (e) => {
        // A browser must be able to read ingest errors too, including the router's 404 and 405.
        if (isIngestPath(url.pathname) && !res.headersSent) setCorsHeaders(req, res);
        // An API or UI request refused before its body was read: a small body is read to its end first, so
        // that a client still writing it (sentry-cli uploading with a token that lacks a scope) gets the
        // 403 instead of a broken pipe; a larger one is not, and the connection closes (errorHeaders).
        if (!isIngestPath(url.pathname) && !req.complete && Number(req.headers['content-length']) <= REFUSED_BODY_READ_BYTES) await drain(req);
        if (router.kindOf(url.pathname) === 'page') sendErrorPage(req, res, e, ctx.log);
        else sendError(req, res, e, ctx.log);
      });
  });
  // Malformed HTTP (bad framing, oversized headers) never reaches a handler; answer it in the same JSON
  // shape as every other error instead of Node's bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, detail] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'request headers too large (Node limit 16 KiB)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request not received in time']
      : [400, `malformed HTTP request: ${err.code ?? err.message}`];
    const body = JSON.stringify({ detail });
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  // Slow-loris bound: a request has 60 s to arrive whole; idle keep-alive sockets close after 65 s.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 200;
  return {
    server,
    async close() {
      closing = true;
      await new Promise<void>((r) => {
        server.close(() => r());
        // Busy keep-alive sockets become idle after their current response (which says
        // "connection: close"); sweep them as they do, and cut whatever still hangs after 10 s.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), 10_000);
        server.once('close', () => {
          clearInterval(sweep);
          clearTimeout(cut);
        });
        server.closeIdleConnections();
      });
      await ingest.close();
    },
  };
}
