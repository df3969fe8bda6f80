import { command, projectFlag, UsageError, type CliCommand } from '../cli/command.js';
import { getProject } from '../storage/projects.js';
import { listDeliveries } from './deliveries.js';
import { addRule, checkRule, listAlertRules, parseKinds, removeAlertRule, type AlertRule, type RuleInput } from './rules.js';
import { ALERT_KINDS, type AlertKind } from './queue.js';
import { sendTestAlert } from './sender.js';

// CLI commands of alerts: thin shells over rules.ts, deliveries.ts and sender.ts.

const numericId = (raw: string | undefined, what: string): number => {
  if (!raw || !/^\d+$/.test(raw)) throw new UsageError(`${what} needs a numeric alert id`);
  return Number(raw);
};

const CHANNEL_FLAGS = ['webhook', 'slack', 'discord', 'teams', 'email'] as const;
const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** "N/M": more than N in M minutes. */
function threshold(raw: string | boolean | undefined, flag: string): [number, number] | null {
  if (raw === undefined) return null;
  const m = typeof raw === 'string' ? /^(\d{1,10})\/(\d{1,6})$/.exec(raw) : null;
  if (!m) throw new UsageError(`--${flag} needs COUNT/MINUTES, e.g. 100/60 (more than 100 in 60 minutes)`);
  return [Number(m[1]), Number(m[2])];
}

/** The rule an `alert add` command line describes. */
export function ruleFromFlags(flags: Record<string, string | boolean>): RuleInput {
  const given = CHANNEL_FLAGS.filter((c) => flags[c] !== undefined);
  if (given.length !== 1) throw new UsageError('alert add needs one of --email ADDRESS[,…|members], --webhook URL, --slack URL, --discord URL, --teams URL');
  const channel = given[0]!;
  const value = str(flags[channel]);
  if (!value) throw new UsageError(`--${channel} needs a value`);
  const freq = threshold(flags.frequency, 'frequency');
  const users = threshold(flags.users, 'users');
  let kinds: AlertKind[];
  try {
    kinds = flags.kinds !== undefined ? parseKinds(str(flags.kinds) ?? '')
      : freq || users ? [...(freq ? ['frequency' as const] : []), ...(users ? ['users' as const] : [])] : ['new', 'regression', 'escalating'];
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (freq && !kinds.includes('frequency')) kinds.push('frequency');
  if (users && !kinds.includes('users')) kinds.push('users');
  const tags: Record<string, string> = {};
  if (str(flags.env)) tags.environment = str(flags.env)!;
  if (str(flags.release)) tags.release = str(flags.release)!;
  for (const t of (str(flags.tag) ?? '').split(',').filter(Boolean)) {
    const eq = t.indexOf('=');
    if (eq < 1) throw new UsageError(`--tag needs KEY=VALUE[,KEY=VALUE], got ${JSON.stringify(t)}`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  const interval = flags.interval === undefined ? undefined : Number(flags.interval);
  const emails = channel === 'email' ? value.split(',').map((x) => x.trim()).filter(Boolean) : [];
  return {
    name: str(flags.name),
    channel,
    webhookUrl: channel === 'email' ? undefined : value,
    emailTo: emails.filter((e) => e !== 'members'),
    emailMembers: emails.includes('members'),
    kinds,
    eventThreshold: freq?.[0] ?? null,
    eventWindowMinutes: freq?.[1] ?? null,
    userThreshold: users?.[0] ?? null,
    userWindowMinutes: users?.[1] ?? null,
    filterLevel: str(flags.level) ?? null,
    filterTags: tags,
    actionIntervalMinutes: interval,
  };
}

const describe = (r: AlertRule): string => {
  const trig = r.kinds.map((k) => (k === 'frequency' ? `more than ${r.event_threshold} events in ${r.event_window_minutes} min`
    : k === 'users' ? `more than ${r.user_threshold} new users in ${r.user_window_minutes} min` : k)).join(', ');
  const filters = [r.filter_level ? `level ≥ ${r.filter_level}` : '', ...Object.entries(r.filter_tags).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(', ');
  return `${trig}${filters ? ` if ${filters}` : ''}; at most once per issue every ${r.action_interval_minutes} min`;
};

const alertAddCommand = command(
  'alert add',
  `  alert add <project> --email ADDR[,ADDR…|members] | --webhook URL | --slack URL | --discord URL | --teams URL
      [--name N] [--kinds ${ALERT_KINDS.join(',')}] [--frequency COUNT/MINUTES] [--users COUNT/MINUTES]
      [--level LEVEL] [--env ENV] [--release R] [--tag KEY=VALUE[,…]] [--interval MINUTES (30)]
                                                            notify a channel of a project's issues (see Alerts)`,
  async ({ db, out }, args, flags) => {
    const ref = args[0];
    if (!ref) throw new UsageError('alert add needs a project (id or slug)');
    const project = await getProject(db.pool, ref);
    if (!project) throw new UsageError(`no project ${JSON.stringify(ref)}`);
    const input = ruleFromFlags(flags);
    let rule: AlertRule;
    try {
      checkRule(input);
      rule = await addRule(db.pool, project.id, input);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
    out(`Alert ${rule.id} added: project ${project.slug}, ${rule.channel} → ${rule.target} (${describe(rule)})`);
  },
  { options: Object.fromEntries([...CHANNEL_FLAGS, 'name', 'kinds', 'frequency', 'users', 'level', 'env', 'release', 'tag', 'interval'].map((o) => [o, 'string' as const])) },
);

const alertListCommand = command(
  'alert list',
  '  alert list [--project ID]                                 alert rules of every project (or one); URLs shown without their secret part',
  async ({ db, out }, _args, flags) => {
    const projectId = await projectFlag(db, flags);
    const rules = await listAlertRules(db.pool, projectId);
    if (flags.json) return void out(JSON.stringify(rules));
    if (!rules.length) return void out('No alerts. Add one with: crash-cache-cli alert add <project> --email ADDRESS (or --webhook/--slack/--discord/--teams URL)');
    out('id\tproject\tchannel\ttarget\tname\twhen');
    for (const r of rules) out(`${r.id}\t${r.project_slug}\t${r.channel}\t${r.target}\t${r.name || '-'}\t${describe(r)}`);
  },
  { options: { project: 'string', json: 'boolean' } },
);

const alertRemoveCommand = command(
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
  { options: {} },
);

const alertTestCommand = command(
  'alert test',
  '  alert test <id>                                           send a test notification over the rule\'s channel now; prints the receiver\'s answer',
  async ({ config, db, out }, args) => {
    const id = numericId(args[0], 'alert test');
    const r = await sendTestAlert(db.pool, config, id);
    if (!r) {
      out(`No alert ${id}.`);
      return 1;
    }
    if (r.ok) out(`Test notification delivered (${r.answer}).`);
    else {
      out(`Test notification failed: ${r.error}`);
      return 1;
    }
  },
  { options: {} },
);

const alertDeliveriesCommand = command(
  'alert deliveries',
  '  alert deliveries [--project ID] [--alert ID] [--status pending|delivered|failed] [--limit 50]   recent notifications, attempts and the last error (SMTP reply, HTTP status)',
  async ({ db, out }, _args, flags) => {
    const projectId = await projectFlag(db, flags);
    const status = flags.status === undefined ? undefined : String(flags.status);
    if (status !== undefined && !['pending', 'delivered', 'failed'].includes(status)) throw new UsageError('--status must be pending, delivered or failed');
    const limit = flags.limit === undefined ? 50 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new UsageError('--limit must be a whole number from 1 to 10000');
    const rule = flags.alert === undefined ? undefined : numericId(String(flags.alert), '--alert');
    const rows = await listDeliveries(db.pool, { projectId, status, limit, ruleId: rule });
    if (flags.json) return void out(JSON.stringify(rows));
    if (!rows.length) return void out('No alerts sent or pending.');
    out('id\tcreated (UTC)\tproject\tkind\tissue\talert\tchannel\tstatus\tattempts\tnext/finished\tlast error');
    for (const d of rows) {
      const when = d.status === 'pending' ? `next ${d.run_after.toISOString()}` : d.finished_at?.toISOString() ?? '';
      out(`${d.id}\t${d.created_at.toISOString()}\t${d.project_slug}\t${d.kind}\t${d.issue_id ?? '-'}\t${d.rule_id}\t${d.channel}\t${d.status}\t${d.attempts}\t${when}\t${d.last_error ?? '-'}`);
    }
  },
  { options: { project: 'string', alert: 'string', status: 'string', limit: 'string', json: 'boolean' } },
);

export const commands: CliCommand[] = [alertAddCommand, alertListCommand, alertRemoveCommand, alertTestCommand, alertDeliveriesCommand];
