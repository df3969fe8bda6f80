import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { openDatabase } from '../storage/db.js';
import { dsn } from '../storage/dsn.js';
import { VERSION } from '../version.js';
import { createProject, deleteProject, getProject, listProjects } from '../storage/projects.js';
import { command, confirm, parseCommandArgs, UsageError, type CliCommand } from './command.js';
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


const USAGE = `usage: crash-cache-cli <command> [options]      (--help: this text; <command> --help: its usage; --version: the version)
Without DATABASE_URL it works on the embedded PostgreSQL in DATA_DIR (./data), started if need be.

`;

const PROJECT_COMMANDS: CliCommand[] = [
  command('project create', '  project create [--name NAME] [--key KEY] [--platform P]   create a project; prints its DSN', async ({ config, db, out }, _args, flags) => {
    const { project, key } = await createProject(db.pool, {
      name: typeof flags.name === 'string' ? flags.name : undefined,
      key: typeof flags.key === 'string' ? flags.key : undefined,
      platform: typeof flags.platform === 'string' ? flags.platform : undefined,
    });
    out(`Project ${project.id} "${project.name}" (slug ${project.slug}) created.`);
    out(`DSN: ${dsn(config, key.public_key, project.id)}`);
  }, { options: { name: 'string', key: 'string', platform: 'string' } }),
  command('project list', '  project list                                             list projects with their DSNs', async ({ config, db, out }) => {
    const rows = await listProjects(db.pool);
    if (!rows.length) out('No projects. Create one with: crash-cache-cli project create --name NAME');
    for (const p of rows) {
      out(`${p.id}\t${p.slug}\t${p.name}${p.disabled ? '\t(disabled)' : ''}`);
      for (const k of p.keys) out(`\tDSN: ${dsn(config, k, p.id)}`);
    }
  }, { options: {} }),
  command('project delete', '  project delete <id> [--yes]                              delete a project and all its data', async ({ config, db, out }, args, flags) => {
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
  }, { options: { yes: 'boolean' } }),
];

/** Every command, by name; `--help` lists their help lines after USAGE, in this order. */
const COMMANDS = new Map<string, CliCommand>(
  [...PROJECT_COMMANDS, ...rateLimitCommands, ...retentionCommands, ...apiCommands, ...uiCommands, ...digestCommands, ...alertCommands, ...storageCommands].map((c) => [c.name, c]),
);




const usage = (): string => USAGE + [...COMMANDS.values()].filter((c) => c.help).map((c) => c.help).join('\n');

/** A command's usage line(s): its help line, with the program's name. */
export const usageOf = (c: CliCommand): string => `usage: crash-cache-cli ${c.help.trimStart() || c.name}`;

/** The command named by the first one or two words of argv, and the words after its name. */
export function findCommand(argv: string[]): { cmd: CliCommand; rest: string[] } | null {
  const two = COMMANDS.get(argv.slice(0, 2).join(' '));
  if (two && argv.length >= 2) return { cmd: two, rest: argv.slice(2) };
  const one = COMMANDS.get(argv[0] ?? '');
  return one ? { cmd: one, rest: argv.slice(1) } : null;
}

export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<void> {
  if (argv[0] === '--version' || argv[0] === '--help') {
    out(argv[0] === '--version' ? VERSION : usage());
    return;
  }
  const found = findCommand(argv);
  if (!found) {
    // Nothing, or not a command: the list of commands, as a usage error.
    const words = argv.filter((a) => !a.startsWith('-'));
    const misplaced = findCommand(words);
    const why = !argv.length ? ''
      : misplaced ? `crash-cache-cli: options go after the command: crash-cache-cli ${misplaced.cmd.name} [options]\n`
        : `crash-cache-cli: unknown command ${JSON.stringify(words.slice(0, 2).join(' ') || argv[0])}\n`;
    console.error(`${why}${usage()}`);
    process.exitCode = 2;
    return;
  }
  const { cmd: command, rest } = found;
  let args: string[];
  let flags;
  try {
    ({ args, flags } = parseCommandArgs(command, rest));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`crash-cache-cli: ${e.message}\n${usageOf(command)}`);
    process.exitCode = 2;
    return;
  }
  if (flags.help) {
    out(usageOf(command));
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
  const db = await openDatabase(config, { log: () => {}, poolSize: 4, applicationName: 'crash-cache-cli', migrate: command.migrate });
  try {
    const code = await command.run({ config, db, out }, args, flags);
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
