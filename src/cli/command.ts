import { createInterface } from 'node:readline/promises';
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

export interface CliCommand {
  /** One or two words: `alert add`, `ruminate`. */
  name: string;
  /** Its line in `crash-cache-cli --help`. */
  help: string;
  run: CommandRun;
  /** false: the database is opened as it is, not migrated first (`restore` needs it empty). */
  migrate: boolean;
}

export function command(name: string, help: string, run: CommandRun, opts: { migrate?: boolean } = {}): CliCommand {
  return { name, help, run, migrate: opts.migrate ?? true };
}

/** A mistake in the command line: exit 2 with the message. */
export class UsageError extends Error {}

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
