import { command, UsageError, type Flags, type CliCommand } from '../../cli/command.js';
import { runRetentionPass } from './pass.js';
import { retentionProblem, type ProjectRetention } from './project-settings.js';
import { projectStorage, storageUse, canMeasureFreeSpace, diskBytes } from './size.js';
import { retentionOptions } from './worker.js';

// CLI commands of retention: thin shells over size.ts and pass.ts (`project update`'s retention flags
// are parsed here, for src/ratelimit/cli.ts which owns that command).

/** --retention-days N|default, --max-events-per-issue N|unlimited; null when neither is given. */
export function parseRetentionFlags(flags: Flags): Partial<ProjectRetention> | null {
  const out: Partial<ProjectRetention> = {};
  const days = flags['retention-days'];
  if (days !== undefined) {
    out.retentionDays = days === 'default' ? null : typeof days === 'string' && /^\d{1,6}$/.test(days) ? Number(days) : NaN;
    const p = retentionProblem('retentionDays', out.retentionDays);
    if (p) throw new UsageError(`--retention-days must be a whole number from 1 to 36500 or "default", got ${JSON.stringify(days)}`);
  }
  const max = flags['max-events-per-issue'];
  if (max !== undefined) {
    out.maxEventsPerIssue = max === 'unlimited' ? null : typeof max === 'string' && /^\d{1,10}$/.test(max) ? Number(max) : NaN;
    const p = retentionProblem('maxEventsPerIssue', out.maxEventsPerIssue);
    if (p) throw new UsageError(`--max-events-per-issue must be a whole number ≥ 2 (the first and the latest event) or "unlimited", got ${JSON.stringify(max)}`);
  }
  return days === undefined && max === undefined ? null : out;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

const storageCommand = command(
  'storage',
  '  storage [--json]                                          disk used, the budget, and per project: events, payload bytes, total (estimated), oldest kept',
  async ({ config, db, out }, _args, flags) => {
    const projects = await projectStorage(db.pool);
    const use = (await canMeasureFreeSpace(db.pool)) ? await storageUse(db.pool) : { diskBytes: await diskBytes(db.pool), freeBytes: null, usedBytes: null };
    if (flags.json) return void out(JSON.stringify({ ...use, budgetBytes: config.storageMaxBytes ?? null, retentionDays: config.retentionDays, projects }));
    out(`Disk: ${mb(use.diskBytes)} in files${use.usedBytes === null ? '' : `, ${mb(use.usedBytes)} in use (${mb(use.freeBytes!)} free for reuse)`}; budget: ${config.storageMaxBytes === undefined ? 'none (STORAGE_MAX_BYTES unset)' : mb(config.storageMaxBytes)}.`);
    out('project\tevents\tpayloads\tpayload bytes\ttotal bytes (est.)\toldest kept\tretention');
    for (const p of projects) {
      const keep = `${p.retentionDays ?? config.retentionDays} days${p.maxEventsPerIssue ? `, ${p.maxEventsPerIssue} events/issue` : ''}`;
      out(`${p.slug}\t${p.events}\t${p.payloads}\t${p.payloadBytes}\t${p.totalBytes}\t${p.oldestReceived?.toISOString() ?? '-'}\t${keep}`);
    }
  },
  { options: { json: 'boolean' } },
);

const retentionRunCommand = command(
  'retention run',
  '  retention run [--dry-run]                                 run one retention pass now; print what it deleted (or would)',
  async ({ config, db, out }, args, flags) => {
    if (args.length) throw new UsageError(`retention run takes no arguments, got ${JSON.stringify(args[0])}`);
    const dryRun = flags['dry-run'] === true;
    const r = await runRetentionPass(db.pool, { ...retentionOptions(config), dryRun });
    if (!r) {
      out('A retention pass is running in another process; nothing done.');
      return 1;
    }
    if (flags.json) return void out(JSON.stringify(r));
    const verb = dryRun ? 'would delete' : 'deleted';
    if (!r.deleted.length) out(`Nothing to delete${r.before ? ` (in use ${mb(r.before.usedBytes)} of a ${mb(config.storageMaxBytes!)} budget)` : ''}.`);
    else {
      out(`kind\tproject\tevents\tpayloads\tpayload bytes\tother rows (${verb})`);
      for (const d of r.deleted) out(`${d.kind}\t${d.projectId || '-'}\t${d.events}\t${d.payloads}\t${d.payloadBytes}\t${d.rows}`);
    }
    if (r.before && r.after && r.before !== r.after) out(`In use: ${mb(r.before.usedBytes)} → ${mb(r.after.usedBytes)} (budget ${mb(config.storageMaxBytes!)}).`);
  },
  { options: { 'dry-run': 'boolean', json: 'boolean' } },
);

export const commands: CliCommand[] = [storageCommand, retentionRunCommand];
