import { command, confirm, UsageError, type CliCommand } from '../cli/command.js';
import { listErrors, listRetrying, requeueErrors } from '../queue/claim.js';
import { drainQueue, resetDigest } from './ruminate.js';

// CLI commands of the digest: inspect and retry failed payloads, rebuild from the archive.

const queueErrorsCommand = command('queue errors', '  queue errors [--limit N]                                  payloads the digest could not process, with the reason; then those waiting for another attempt', async ({ db, out }, _args, flags) => {
  const limit = typeof flags.limit === 'string' && /^\d+$/.test(flags.limit) ? Number(flags.limit) : 100;
  const [rows, waiting] = await Promise.all([listErrors(db.pool, limit), listRetrying(db.pool, limit)]);
  if (!rows.length) out('No failed payloads.');
  for (const r of rows) out(`${r.id}\tproject ${r.project_id}\tarchive ${r.archive_id}\t${r.failed_at.toISOString()}\t${r.attempts} attempt(s)\t${r.error}`);
  if (!waiting.length) return;
  // Not yet in queue_error: `queue retry` does not apply to them (the digest retries them itself).
  out(`Waiting for another attempt (queue id, next attempt, failed attempts, last error):`);
  for (const r of waiting) out(`queue ${r.id}\tproject ${r.project_id}\tarchive ${r.archive_id}\tnext ${r.run_after.toISOString()}\t${r.attempts} failed\t${r.last_error ?? ''}`);
}, { options: { limit: 'string' } });

const queueRetryCommand = command('queue retry', '  queue retry --all | <id>...                               put failed payloads back on the digest queue', async ({ db, out }, args, flags) => {
  if (!flags.all && !args.length) throw new UsageError('queue retry needs --all or queue_error ids (see: queue errors)');
  if (args.some((a) => !/^\d+$/.test(a))) throw new UsageError('queue retry: ids are numbers (see: queue errors)');
  const n = await requeueErrors(db.pool, flags.all ? 'all' : args.map(Number));
  out(`${n} payload(s) re-enqueued.`);
}, { options: { all: 'boolean' } });

const ruminateCommand = command('ruminate', '  ruminate [--yes]                                          rebuild reports, issues, sessions from the archive (keeps issue statuses)', async ({ config, db, out }, _args, flags) => {
  if (!flags.yes && !(await confirm('Rebuild all reports, issues, sessions and statistics from the archive?'))) {
    out('Nothing done (pass --yes to rebuild without asking).');
    return 1;
  }
  const total = await resetDigest(db.pool);
  out(`${total} archived payload(s) re-enqueued; digesting...`);
  const tty = process.stdout.isTTY;
  const started = Date.now();
  let last = 0;
  const drained = await drainQueue(db.pool, { batchSize: config.workerBatchSize, maxBytes: config.maxEnvelopeBytes, scrubMaxDepth: config.scrubMaxDepth, maxAttempts: config.workerMaxAttempts }, (remaining) => {
    if (!tty || Date.now() - last < 200) return;
    last = Date.now();
    const done = Math.max(0, total - remaining);
    process.stdout.write(`\r${done}/${total} (${total ? Math.floor((100 * done) / total) : 100}%)   `);
  });
  if (tty) process.stdout.write('\r');
  out(`Ruminated ${total} payload(s) in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  if (drained.waiting) {
    out(`${drained.waiting} payload(s) failed to digest and wait for a retry by the server's digest (its log says why; after WORKER_MAX_ATTEMPTS they are listed by: queue errors).`);
  }
}, { options: { yes: 'boolean' } });

export const commands: CliCommand[] = [queueErrorsCommand, queueRetryCommand, ruminateCommand];
