import { command, projectFlag, UsageError, type CliCommand } from '../cli/command.js';
import { listOutcomes } from '../outcomes/queries.js';
import { setProjectRateLimit } from './queries.js';
import { parseSince } from './since.js';
import { parseRetentionFlags } from '../archive/retention/cli.js';
import { setProjectRetention } from '../archive/retention/project-settings.js';
import { projectFieldsProblem, updateProject } from '../storage/projects.js';

// CLI commands of rate limiting and outcomes: thin shells over queries.ts and outcomes/queries.ts.

const projectUpdateCommand = command(
  'project update',
  '  project update <id> [--name NAME] [--platform P] [--rate-limit N|default] [--retention-days N|default] [--max-events-per-issue N|unlimited]\n' +
  '                                                            requests/second (0 = unlimited; default = RATE_LIMIT_PER_PROJECT_PER_SEC), days kept (default = RETENTION_DAYS), events kept per issue',
  async ({ config, db, out }, args, flags) => {
    const id = args[0];
    if (!id || !/^\d+$/.test(id)) throw new UsageError('project update needs a numeric project id');
    const raw = flags['rate-limit'];
    const retention = parseRetentionFlags(flags);
    const fields = { name: flags.name, platform: flags.platform };
    if (fields.name === true || fields.platform === true) throw new UsageError('--name and --platform need a value');
    const rename = { name: fields.name as string | undefined, platform: fields.platform as string | undefined };
    if (raw === undefined && retention === null && rename.name === undefined && rename.platform === undefined) {
      throw new UsageError('project update: nothing to change (use --name, --platform, --rate-limit, --retention-days or --max-events-per-issue)');
    }
    if (rename.name !== undefined || rename.platform !== undefined) {
      const problem = projectFieldsProblem(rename);
      if (problem) throw new UsageError(problem);
      // The same function as the API's PUT and the UI's settings page.
      if (!(await updateProject(db.pool, Number(id), rename))) {
        out(`No project ${id}.`);
        return 1;
      }
      out(`Project ${id} updated${rename.name !== undefined ? `: name ${JSON.stringify(rename.name.trim())}` : ''}${rename.platform !== undefined ? `${rename.name !== undefined ? ',' : ':'} platform ${JSON.stringify(rename.platform.trim())}` : ''}.`);
    }
    if (retention) {
      if (!(await setProjectRetention(db.pool, Number(id), retention))) {
        out(`No project ${id}.`);
        return 1;
      }
      if (retention.retentionDays !== undefined) out(`Project ${id} retention: ${retention.retentionDays === null ? `the default (RETENTION_DAYS = ${config.retentionDays})` : retention.retentionDays} days.`);
      if (retention.maxEventsPerIssue !== undefined) out(`Project ${id} events kept per issue: ${retention.maxEventsPerIssue ?? 'unlimited'}.`);
    }
    if (raw === undefined) return;
    let perSec: number | null;
    if (raw === 'default') perSec = null;
    else if (typeof raw === 'string' && /^\d+$/.test(raw) && Number(raw) <= 2_147_483_647) perSec = Number(raw);
    else throw new UsageError(`--rate-limit must be a whole number ≥ 0 or "default", got ${JSON.stringify(raw)}`);
    if (!(await setProjectRateLimit(db.pool, Number(id), perSec))) {
      out(`No project ${id}.`);
      return 1;
    }
    const what =
      perSec === null
        ? `the default (RATE_LIMIT_PER_PROJECT_PER_SEC = ${config.rateLimitPerProjectPerSec || 'unlimited'})`
        : perSec === 0
          ? 'unlimited'
          : `${perSec} requests/second`;
    // Running servers read the value with the project's key, so it applies within their key-cache TTL.
    out(`Project ${id} rate limit: ${what}.`);
  },
  { options: { 'rate-limit': 'string', 'retention-days': 'string', 'max-events-per-issue': 'string', name: 'string', platform: 'string' } },
);

const outcomesCommand = command(
  'outcomes',
  '  outcomes [--project ID] [--since 24h]                     counts of refused, filtered and client-dropped items per hour',
  async ({ db, out }, _args, flags) => {
    const projectId = await projectFlag(db, flags);
    const since = parseSince(typeof flags.since === 'string' ? flags.since : '24h');
    if (!since) throw new UsageError(`--since must look like 90m, 24h or 7d, got ${JSON.stringify(flags.since)}`);
    const rows = await listOutcomes(db.pool, { projectId, since });
    if (flags.json) {
      out(JSON.stringify(rows));
      return;
    }
    if (!rows.length) {
      out('No outcomes recorded in that period.');
      return;
    }
    out('hour (UTC)\tproject\toutcome\treason\tcategory\tquantity');
    for (const r of rows) {
      out(`${r.hour.toISOString().slice(0, 13)}:00\t${r.projectId ?? '-'}\t${r.outcome}\t${r.reason || '-'}\t${r.category}\t${r.quantity}`);
    }
  },
  { options: { project: 'string', since: 'string', json: 'boolean' } },
);

export const commands: CliCommand[] = [projectUpdateCommand, outcomesCommand];
