import { command, UsageError, type CliCommand } from '../cli/command.js';
import { dsn } from './dsn.js';
import { createKey, labelProblem, listKeys, parseKeyRateLimit, rotateKey, updateKey, type KeyRateLimit } from './project-keys.js';
import { getProject, type ProjectKeyRow } from './projects.js';

// crash-cache-cli key …: a project's DSN keys, with the functions the API and the UI use
// (src/storage/project-keys.ts). Running servers see a change within INGEST_KEY_CACHE_MS.

async function project(db: Parameters<CliCommand['run']>[0]['db'], ref: string | undefined) {
  if (!ref) throw new UsageError('name the project (id or slug)');
  const p = await getProject(db.pool, ref);
  if (!p) throw new UsageError(`no project ${JSON.stringify(ref)}`);
  return p;
}

/** `COUNT/SECONDS` (e.g. 1000/3600) or `none`. */
function parseLimit(v: string | boolean | undefined): KeyRateLimit | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'none') return null;
  const m = typeof v === 'string' ? /^(\d{1,10})\/(\d{1,6})$/.exec(v) : null;
  const r = m ? parseKeyRateLimit({ count: Number(m[1]), window: Number(m[2]) }) : 'a rate limit is COUNT/SECONDS (e.g. 1000/3600) or none';
  if (typeof r === 'string') throw new UsageError(`--rate-limit: ${r}`);
  return r;
}

function line(config: Parameters<CliCommand['run']>[0]['config'], k: ProjectKeyRow): string {
  const limit = k.rate_limit_count ? `${k.rate_limit_count}/${k.rate_limit_window}s` : 'no limit';
  return `${k.public_key}\t${k.disabled ? 'disabled' : 'active'}\t${limit}\t${k.label}\t${dsn(config, k.public_key, Number(k.project_id))}`;
}

const list = command('key list', '  key list <project>                                      a project\'s DSN keys: key, state, rate limit, name, DSN', async ({ config, db, out }, args) => {
  const p = await project(db, args[0]);
  for (const k of await listKeys(db.pool, p.id)) out(line(config, k));
}, { options: {} });

const create = command('key create', '  key create <project> [--name N] [--rate-limit COUNT/SECS] a new DSN key (rate limit: error events per window)', async ({ config, db, out }, args, flags) => {
  const p = await project(db, args[0]);
  const label = typeof flags.name === 'string' ? flags.name : 'Default';
  const problem = labelProblem(label);
  if (problem) throw new UsageError(problem);
  out(line(config, await createKey(db.pool, p.id, { label, rateLimit: parseLimit(flags['rate-limit']) ?? null })));
}, { options: { name: 'string', 'rate-limit': 'string' } });

const update = command('key update', '  key update <project> <key> [--enable|--disable] [--name N] [--rate-limit COUNT/SECS|none]', async ({ config, db, out }, args, flags) => {
  const p = await project(db, args[0]);
  if (!args[1]) throw new UsageError('key update needs the key');
  if (flags.enable && flags.disable) throw new UsageError('--enable or --disable, not both');
  const label = typeof flags.name === 'string' ? flags.name : undefined;
  if (label !== undefined && labelProblem(label)) throw new UsageError(labelProblem(label)!);
  const active = flags.enable ? true : flags.disable ? false : undefined;
  const k = await updateKey(db.pool, p.id, args[1], { label, active, rateLimit: parseLimit(flags['rate-limit']) });
  if (!k) throw new UsageError(`no key ${args[1]} in project ${p.slug}`);
  out(line(config, k));
}, { options: { enable: 'boolean', disable: 'boolean', name: 'string', 'rate-limit': 'string' } });

const rotate = command('key rotate', '  key rotate <project> <key>                              a new key replaces it (same name and limit); it is disabled', async ({ config, db, out }, args) => {
  const p = await project(db, args[0]);
  const r = args[1] ? await rotateKey(db.pool, p.id, args[1]) : null;
  if (!r) throw new UsageError(`no key ${args[1] ?? '(none given)'} in project ${p.slug}`);
  out(line(config, r.key));
  out(line(config, r.old));
}, { options: {} });

export const commands: CliCommand[] = [list, create, update, rotate];
