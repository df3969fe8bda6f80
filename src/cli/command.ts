import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config/index.js';
import type { Database } from '../storage/db.js';
import { getProject } from '../storage/projects.js';

// What a CLI command is, and the helpers commands share. Each part of the code exports its own
// commands (e.g. `commands` in src/alerts/cli.ts) and src/cli/main.ts imports every part's list:
// main depends on the parts, never the other way round.

export type Flags = Record<string, string | boolean>;
export interface CliContext { config: Readonly<Config>; db: Database; out: (s: string) => void }
// biome-ignore lint/suspicious/noConfusingVoidType: a command resolves to its exit code, or to nothing (0)
export type CommandRun = (ctx: CliContext, args: string[], flags: Flags) => Promise<number | void>;

/** A command's option: `--name VALUE` (string) or `--name` (boolean); `short` only where one exists. */
export type OptionSpec = 'string' | 'boolean' | { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

export interface CliCommand {
  /** One or two words: `alert add`, `ruminate`. */
  name: string;
  /** Its line in `crash-cache-cli --help`, also shown under a usage error. */
  help: string;
  run: CommandRun;
  /** false: the database is opened as it is, not migrated first (`restore` needs it empty). */
  migrate: boolean;
  /** The options it takes, parsed strictly: an unknown one is a usage error. */
  options: Record<string, OptionSpec>;
}

export interface CommandOptions {
  migrate?: boolean;
  /** Its options by name (none when not given). */
  options?: Record<string, OptionSpec>;
}

export function command(name: string, help: string, run: CommandRun, opts: CommandOptions = {}): CliCommand {
  return { name, help, run, migrate: opts.migrate ?? true, options: opts.options ?? {} };
}

/** A mistake in the command line: exit 2 with the message. */
export class UsageError extends Error {}

/**
 * A command's arguments (after its name) as positionals and flags, with node:util parseArgs in strict
 * mode against its declared options plus --help. A UsageError names an unknown or malformed option.
 * `--opt -3` (a value starting with one dash, e.g. a negative number) is read as `--opt=-3`, as the
 * hand-written parser before it did, so the command's own check can say what is wrong with the value.
 */
export function parseCommandArgs(cmd: Pick<CliCommand, 'name' | 'options'>, argv: string[]): { args: string[]; flags: Flags } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean' } };
  for (const [k, v] of Object.entries(cmd.options)) options[k] = typeof v === 'string' ? { type: v } : v;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-[^-]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { args: positionals, flags: values as Flags };
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = /^Unknown option '([^']+)'/.exec(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) throw new UsageError(`${cmd.name}: unknown option ${unknown[1]}`);
    throw new UsageError(`${cmd.name}: ${err.message.split('\n')[0]}`);
  }
}

/** The project a `--project ID|slug` flag names (undefined without the flag); a usage error when there is none. */
export async function projectFlag(db: Database, flags: Flags): Promise<number | undefined> {
  if (flags.project === undefined) return undefined;
  const p = typeof flags.project === 'string' ? await getProject(db.pool, flags.project) : null;
  if (!p) throw new UsageError(`--project: no project ${JSON.stringify(flags.project)}`);
  return p.id;
}

/** Asks a yes/no question on a terminal; without one (scripts, CI) the answer is no. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
