import type { Config } from './config/index.js';
import type { Database } from './storage/db.js';
import type { Logger } from './log.js';
import type { Outcomes } from './outcomes/index.js';
import type { RateLimiter } from './ratelimit/index.js';

/** What every part of the running server shares: settings, the pool, the log, and the worker's bell. */
export interface AppContext {
  config: Readonly<Config>;
  db: Database;
  log: Logger;
  /** Tells in-process workers that new work was committed (they also LISTEN for other processes). */
  wake: () => void;
  outcomes: Outcomes;
  limiter: RateLimiter;
}
