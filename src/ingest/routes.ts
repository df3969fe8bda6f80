import type { Router } from '../http/router.js';
import type { AppContext } from '../context.js';
import { registerHealthRoute } from '../server/health.js';
import { answerPreflight } from './cors.js';
import { IngestHandler } from './handler.js';
import type { IngestKind } from './validate.js';

// The Sentry ingest endpoints (protocol notes §1): with or without the trailing slash (the router
// also tolerates repeated ones, as Relay does), each with a CORS preflight. Also GET /health.

const ENDPOINTS: [string, IngestKind][] = [
  ['envelope', 'envelope'],
  ['store', 'store'],
  ['security', 'security'],
  ['csp-report', 'security'],
  ['minidump', 'minidump'],
];

export function registerIngestRoutes(router: Router, ctx: AppContext): { close(): Promise<void> } {
  const ingest = new IngestHandler(ctx);
  for (const [path, kind] of ENDPOINTS) {
    const pattern = `/api/:projectId/${path}/?`;
    router.add('POST', pattern, (req, res, params, url) => ingest.handle(kind, req, res, params.projectId!, url));
    router.add('OPTIONS', pattern, (req, res) => answerPreflight(req, res));
  }
  // Relay also takes store requests without a project id (the key names it) and the GET image-pixel form.
  router.add('POST', '/api/store/?', (req, res, _params, url) => ingest.handle('store', req, res, null, url));
  router.add('OPTIONS', '/api/store/?', (req, res) => answerPreflight(req, res));
  router.add('GET', '/api/:projectId/store/?', (req, res, params, url) => ingest.handle('store', req, res, params.projectId!, url));
  registerHealthRoute(router, ctx, () => ({ commit_waiting: ingest.committer.waiting, ingest_pending: ingest.admission.pending }));
  return { close: () => ingest.close() };
}
