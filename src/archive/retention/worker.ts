import type { Config } from '../../config/index.js';
import type { AppContext } from '../../context.js';
import { runRetentionPass, type RetentionOptions } from './pass.js';

// Every worker process tries a retention pass every RETENTION_INTERVAL_SECS (src/digest/worker.ts
// starts this); one runs at a time across processes (pass.ts), the others find it locked and wait
// for their next turn.

export function retentionOptions(config: Pick<Config, 'retentionDays' | 'retentionBatchSize' | 'storageMaxBytes' | 'storageLowWaterPercent' | 'sourcemapRetentionDays'>): RetentionOptions {
  return { defaultDays: config.retentionDays, batchSize: config.retentionBatchSize, budgetBytes: config.storageMaxBytes, lowWaterPercent: config.storageLowWaterPercent, sourcemapDays: config.sourcemapRetentionDays };
}

export function startRetention(ctx: AppContext): { stop(): Promise<void> } {
  const { config, db, log } = ctx;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        timer = setTimeout(resolve, config.retentionIntervalSecs * 1000);
      });
      if (stopping) return;
      try {
        await runRetentionPass(db.pool, retentionOptions(config), log);
      } catch (e) {
        log.warn('retention pass failed; trying again next time', { error: String((e as Error)?.message ?? e) });
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      wakeUp?.();
      await loop;
    },
  };
}
