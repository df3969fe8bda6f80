import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { openDatabase } from '../storage/db.js';
import { dsn } from '../storage/dsn.js';
import { VERSION } from '../version.js';
import { createProject, deleteProject, getProject, listProjects } from '../storage/projects.js';
import { command, confirm, UsageError, type CliCommand, type Flags } from './command.js';
import { commands as alertCommands } from '../alerts/cli.js';
import { commands as apiCommands } from '../api/cli.js';
import { commands as retentionCommands } from '../archive/retention/cli.js';
import { commands as digestCommands } from '../digest/cli.js';
import { commands as rateLimitCommands } from '../ratelimit/cli.js';
import { commands as storageCommands } from '../storage/cli.js';
import { commands as uiCommands } from '../ui/cli.js';

// The CLI is a thin shell: it parses arguments and calls the same functions the server uses. It
// works whether or not the server runs: with DATABASE_URL it connects there; without, it attaches to
// the server's embedded PostgreSQL or starts it for the duration of the command. Each part exports
// its commands (src/*/cli.ts); this file imports them all (src/cli/command.ts: what a command is).


const USAGE = `usage: crash-cache-cli <command>      (--help: this text; --version: the version)
Without DATABASE_URL it works on the embedded PostgreSQL in DATA_DIR (./data), started if need be.

  project create [--name NAME] [--key KEY] [--platform P]   create a project; prints its DSN
  project list                                             list projects with their DSNs
  project delete <id> [--yes]                              delete a project and all its data
`;

export function parseArgs(argv: string[]): { args: string[]; flags: Flags } {
  const args: string[] = [];
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--') && !BOOLEAN_FLAGS.has(a.slice(2))) flags[a.slice(2)] = argv[++i]!;
      else flags[a.slice(2)] = true;
    } else args.push(a);
  }
  return { args, flags };
}
const BOOLEAN_FLAGS = new Set(['yes', 'json', 'help', 'quiet', 'version', 'dry-run', 'all', 'enable', 'disable']);



const PROJECT_COMMANDS: CliCommand[] = [
  command('project create', '', async ({ config, db, out }, _args, flags) => {
    const { project, key } = await createProject(db.pool, {
      name: typeof flags.name === 'string' ? flags.name : undefined,
      key: typeof flags.key === 'string' ? flags.key : undefined,
      platform: typeof flags.platform === 'string' ? flags.platform : undefined,
    });
    out(`Project ${project.id} "${project.name}" (slug ${project.slug}) created.`);
    out(`DSN: ${dsn(config, key.public_key, project.id)}`);
  }),
  command('project list', '', async ({ config, db, out }) => {
    const rows = await listProjects(db.pool);
    if (!rows.length) out('No projects. Create one with: crash-cache-cli project create --name NAME');
    for (const p of rows) {
      out(`${p.id}\t${p.slug}\t${p.name}${p.disabled ? '\t(disabled)' : ''}`);
      for (const k of p.keys) out(`\tDSN: ${dsn(config, k, p.id)}`);
    }
  }),
  command('project delete', '', async ({ config, db, out }, args, flags) => {
    const id = args[0];
    if (!id || !/^\d+$/.test(id)) throw new UsageError('project delete needs a numeric project id');
    const p = await getProject(db.pool, id);
    if (!p) {
      out(`No project ${id}.`);
      return 1;
    }
    const what = `project ${p.id} "${p.name}" with its keys, stored payloads, events, issues and sessions`;
    if (!flags.yes && !(await confirm(`Delete ${what}?`))) {
      out('Not deleted (pass --yes to delete without asking).');
      return 1;
    }
    // The same deletion as the API's and the UI's: in bounded batches, recorded in retention_deletion.
    const r = await deleteProject(db.pool, p.id, { batchSize: config.retentionBatchSize, by: 'crash-cache-cli' });
    if (r && !r.complete) {
      out(`Project ${p.id} is hidden and disabled; its deletion was interrupted and the retention passes will finish it.`);
      return 1;
    }
    out(`Deleted ${what}${r ? ` (${r.deleted.events} events, ${r.deleted.payloads} payloads, ${r.deleted.rows} other rows)` : ''}.`);
  }),
];

/** Every command, by name; the project commands' help is in USAGE above, the others' after it. */
const COMMANDS = new Map<string, CliCommand>(
  [...PROJECT_COMMANDS, ...rateLimitCommands, ...retentionCommands, ...apiCommands, ...uiCommands, ...digestCommands, ...alertCommands, ...storageCommands].map((c) => [c.name, c]),
);




export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<void> {
  const { args, flags } = parseArgs(argv);
  if (flags.version) {
    out(VERSION);
    return;
  }
  const name2 = args.slice(0, 2).join(' ');
  const name1 = args[0] ?? '';
  const [name, rest] = COMMANDS.has(name2) ? [name2, args.slice(2)] : COMMANDS.has(name1) ? [name1, args.slice(1)] : [null, args];
  if (!name || flags.help) {
    out(USAGE + [...COMMANDS.values()].filter((c) => c.help).map((c) => c.help).join('\n'));
    process.exitCode = name || flags.help ? 0 : 2;
    return;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`crash-cache-cli: invalid configuration: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const db = await openDatabase(config, { log: () => {}, poolSize: 4, applicationName: 'crash-cache-cli', migrate: COMMANDS.get(name)!.migrate });
  try {
    const code = await COMMANDS.get(name)!.run({ config, db, out }, rest, flags);
    process.exitCode = code ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`crash-cache-cli: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`crash-cache-cli: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  } finally {
    await db.close();
  }
}
