import { projectFlag, registerCommand, UsageError } from '../cli/main.js';
import { getProject } from '../storage/projects.js';
import { listDeliveries } from './deliveries.js';
import { addAlertRule, checkWebhookUrl, listAlertRules, parseKinds, removeAlertRule } from './rules.js';
import { ALERT_KINDS } from './queue.js';
import { sendTestAlert } from './sender.js';

// CLI commands of alerts: thin shells over rules.ts, deliveries.ts and sender.ts.

const numericId = (raw: string | undefined, what: string): number => {
  if (!raw || !/^\d+$/.test(raw)) throw new UsageError(`${what} needs a numeric alert id`);
  return Number(raw);
};

registerCommand(
  'alert add',
  `  alert add <project> --webhook URL [--kinds ${ALERT_KINDS.join(',')}]   POST a JSON notification to URL for these issue changes`,
  async ({ db, out }, args, flags) => {
    const ref = args[0];
    if (!ref) throw new UsageError('alert add needs a project (id or slug)');
    const project = await getProject(db.pool, ref);
    if (!project) throw new UsageError(`no project ${JSON.stringify(ref)}`);
    if (typeof flags.webhook !== 'string') throw new UsageError('alert add needs --webhook URL');
    let url: string, kinds;
    try {
      url = checkWebhookUrl(flags.webhook);
      kinds = flags.kinds === undefined ? [...ALERT_KINDS] : parseKinds(typeof flags.kinds === 'string' ? flags.kinds : '');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const rule = await addAlertRule(db.pool, project.id, url, kinds);
    out(`Alert ${rule.id} added: project ${project.slug} (${rule.kinds.join(', ')}) → ${rule.webhook_url}`);
  },
);

registerCommand(
  'alert list',
  '  alert list [--project ID]                                 webhooks of every project (or one)',
  async ({ db, out }, _args, flags) => {
    const projectId = await projectFlag(db, flags);
    const rules = await listAlertRules(db.pool, projectId);
    if (flags.json) return void out(JSON.stringify(rules));
    if (!rules.length) return void out('No alerts. Add one with: crash-cache-cli alert add <project> --webhook URL');
    out('id\tproject\tkinds\twebhook');
    for (const r of rules) out(`${r.id}\t${r.project_slug}\t${r.kinds.join(',')}\t${r.webhook_url}`);
  },
);

registerCommand(
  'alert remove',
  '  alert remove <id>                                         delete a webhook with its pending and past deliveries',
  async ({ db, out }, args) => {
    const id = numericId(args[0], 'alert remove');
    if (!(await removeAlertRule(db.pool, id))) {
      out(`No alert ${id}.`);
      return 1;
    }
    out(`Alert ${id} removed.`);
  },
);

registerCommand(
  'alert test',
  '  alert test <id>                                           send a test notification to the webhook now',
  async ({ config, db, out }, args) => {
    const id = numericId(args[0], 'alert test');
    const r = await sendTestAlert(db.pool, config, id);
    if (!r) {
      out(`No alert ${id}.`);
      return 1;
    }
    if (r.ok) out(`Test notification delivered (HTTP ${r.httpStatus}).`);
    else {
      out(`Test notification failed: ${r.error}`);
      return 1;
    }
  },
);

registerCommand(
  'alert deliveries',
  '  alert deliveries [--project ID] [--status pending|delivered|failed] [--limit 50]   recent notifications and their last error',
  async ({ db, out }, _args, flags) => {
    const projectId = await projectFlag(db, flags);
    const status = flags.status === undefined ? undefined : String(flags.status);
    if (status !== undefined && !['pending', 'delivered', 'failed'].includes(status)) throw new UsageError('--status must be pending, delivered or failed');
    const limit = flags.limit === undefined ? 50 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new UsageError('--limit must be a whole number from 1 to 10000');
    const rows = await listDeliveries(db.pool, { projectId, status, limit });
    if (flags.json) return void out(JSON.stringify(rows));
    if (!rows.length) return void out('No alerts sent or pending.');
    out('id\tcreated (UTC)\tproject\tkind\tissue\talert\tstatus\tattempts\tnext/finished\tlast error');
    for (const d of rows) {
      const when = d.status === 'pending' ? `next ${d.run_after.toISOString()}` : d.finished_at?.toISOString() ?? '';
      out(`${d.id}\t${d.created_at.toISOString()}\t${d.project_slug}\t${d.kind}\t${d.issue_id ?? '-'}\t${d.rule_id}\t${d.status}\t${d.attempts}\t${when}\t${d.last_error ?? '-'}`);
    }
  },
);
