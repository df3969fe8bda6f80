import { createServer, type Server } from 'node:http';
import { Router } from '../http/router.js';
import { sendError } from '../http/respond.js';
import type { AppContext } from './context.js';
import { registerIngestRoutes } from '../ingest/routes.js';
import { registerApiRoutes } from '../api/routes.js';

export interface HttpService {
  server: Server;
  close(): Promise<void>;
}

/** Builds the router from each part's routes and serves it. */
export function createHttpService(ctx: AppContext): HttpService {
  const router = new Router();
  const ingest = registerIngestRoutes(router, ctx);
  registerApiRoutes(router, ctx);
  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"detail":"malformed request URL"}');
      return;
    }
    Promise.resolve()
      .then(() => {
        const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
        return handler(req, res, params, url);
      })
      .catch((e) => sendError(req, res, e, ctx.log));
  });
  // Slow-loris bound: a request has 60 s to arrive whole; idle keep-alive sockets close after 65 s.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 200;
  return {
    server,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      });
      await ingest.close();
    },
  };
}
