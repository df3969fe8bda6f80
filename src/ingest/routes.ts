import type { Router } from '../http/router.js';
import type { AppContext } from '../server/context.js';

// Placeholder until the ingest fast path lands: registers /api/{project_id}/envelope|store|security/.
export function registerIngestRoutes(_router: Router, _ctx: AppContext): { close(): Promise<void> } {
  return { close: async () => {} };
}
