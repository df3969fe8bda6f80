import type { Router } from '../http/router.js';
import type { AppContext } from '../server/context.js';

// Placeholder until the read API lands: /api/0/...
export function registerApiRoutes(_router: Router, _ctx: AppContext): void {}
