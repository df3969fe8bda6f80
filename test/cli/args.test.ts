import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { command, parseCommandArgs, UsageError } from '../../src/cli/command.js';
import { findCommand } from '../../src/cli/main.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { VERSION } from '../../src/version.js';

// crash-cache-cli's command line: each command declares its options and node:util parseArgs reads them
// strictly, so a mistyped flag is a usage error (exit 2) naming it, not an option silently ignored.

const run = promisify(execFile);
const bin = join(PACKAGE_ROOT, 'bin', 'crash-cache-cli');
const noop = async () => {};

describe('crash-cache-cli arguments', () => {
  const create = command('project create', '  project create [--name NAME]', noop, { options: { name: 'string', key: 'string', yes: 'boolean' } });

  it('reads declared options, positionals, --opt=value and a value with one leading dash', () => {
    expect(parseCommandArgs(create, ['--name', 'My App', 'x', '--yes'])).toEqual({ args: ['x'], flags: { name: 'My App', yes: true } });
    expect(parseCommandArgs(create, ['--name=a=b', '--key', '-3'])).toEqual({ args: [], flags: { name: 'a=b', key: '-3' } });
    expect(parseCommandArgs(create, ['--', '--name'])).toEqual({ args: ['--name'], flags: {} });
    expect(parseCommandArgs(create, ['--help']).flags.help).toBe(true);
  });

  it('refuses unknown and malformed options, naming them', () => {
    expect(() => parseCommandArgs(create, ['--nmae', 'x'])).toThrow(/^project create: unknown option --nmae$/);
    expect(() => parseCommandArgs(create, ['-n', 'x'])).toThrow(/unknown option -n/);
    expect(() => parseCommandArgs(create, ['--yes=1'])).toThrow(/'--yes' does not take an argument/);
    expect(() => parseCommandArgs(create, ['--name'])).toThrow(/'--name <value>' argument missing/);
    expect(() => parseCommandArgs(create, ['--name', '--yes'])).toThrow(UsageError);
    const none = command('project list', '', noop, { options: {} });
    expect(() => parseCommandArgs(none, ['--json'])).toThrow(/unknown option --json/);
  });

  it('refuses every option of a command that declares none (only --help)', () => {
    const bare = command('key rotate', '  key rotate <project> <key>', noop);
    expect(parseCommandArgs(bare, ['a', 'b'])).toEqual({ args: ['a', 'b'], flags: {} });
    expect(() => parseCommandArgs(bare, ['a', '--yes'])).toThrow(/key rotate: unknown option --yes/);
  });

  it('finds one- and two-word commands, every one of which declares its options', () => {
    expect(findCommand(['project', 'create', '--name', 'x'])).toMatchObject({ cmd: { name: 'project create' }, rest: ['--name', 'x'] });
    expect(findCommand(['ruminate', '--yes'])).toMatchObject({ cmd: { name: 'ruminate' }, rest: ['--yes'] });
    expect(findCommand(['storage'])).toMatchObject({ cmd: { name: 'storage' }, rest: [] });
    expect(findCommand(['nonsense'])).toBeNull();
    for (const words of [['project', 'list'], ['alert', 'add'], ['token', 'create'], ['user', 'create'], ['user', 'role'], ['user', 'projects'], ['key', 'update'], ['backup'], ['restore'], ['queue', 'retry'], ['outcomes']]) {
      expect(findCommand(words)?.cmd.options, words.join(' ')).toBeDefined();
    }
  });

  it('exits 2 with the option and the command\'s usage on a mistyped flag, before touching any database', async () => {
    const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const err = await run(process.execPath, [bin, 'project', 'create', '--nmae', 'shop'], { env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/^crash-cache-cli: project create: unknown option --nmae\nusage: crash-cache-cli project create \[--name NAME\]/);
    const bad = await run(process.execPath, [bin, 'token', 'list', '--all'], { env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(bad?.stderr).toMatch(/token list: unknown option --all\nusage: crash-cache-cli token list/);
    const unknown = await run(process.execPath, [bin, 'porject', 'list'], { env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(unknown?.code).toBe(2);
    expect(unknown?.stderr).toMatch(/unknown command "porject list"/);
    const early = await run(process.execPath, [bin, '--json', 'alert', 'list'], { env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(early?.code).toBe(2);
    expect(early?.stderr).toMatch(/options go after the command: crash-cache-cli alert list \[options\]/);
    expect((await run(process.execPath, [bin, 'alert', 'add', '--help'], { env })).stdout).toMatch(/^usage: crash-cache-cli alert add <project>/);
    expect((await run(process.execPath, [bin, '--version'], { env })).stdout.trim()).toBe(VERSION);
  });
});
