import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { isRole, ROLES } from '../auth/scopes.js';
import { command, UsageError, type CliCommand } from '../cli/command.js';
import { UserExistsError, createUser, listUsers, setPassword } from './users.js';
import { changeRole, memberByEmail, projectIdsOf, removeMember, setMemberProjects } from '../members/members.js';
import { HttpError } from '../http/errors.js';
import { disableTwoFactor } from '../members/two-factor.js';

// `user create|password|two-factor-off|list|delete`: web UI accounts. Without --password, create and password ask
// twice on a terminal (input not echoed).

async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stdout.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const p = rl.question(question);
    muted = true;
    const answer = await p;
    process.stdout.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

async function passwordOf(flags: Record<string, string | boolean>): Promise<string> {
  if (typeof flags.password === 'string' && flags.password) return flags.password;
  if (!process.stdin.isTTY) throw new UsageError('give --password when not run on a terminal');
  const password = await promptHidden('Password: ');
  if ((await promptHidden('Repeat password: ')) !== password) throw new UsageError('the passwords differ');
  return password;
}

function emailOf(flags: Record<string, string | boolean>, cmd: string): string {
  const email = typeof flags.email === 'string' ? flags.email : '';
  if (!email) throw new UsageError(`${cmd} needs --email`);
  return email;
}

const userCreateCommand = command(
  'user create',
  '  user create --email E [--password P] [--role R]         create a web UI user (the first one is owner; then --role, default member); asks for the password if not given',
  async ({ db, out }, _args, flags) => {
    const email = emailOf(flags, 'user create');
    const role = flags.role === undefined ? 'member' : String(flags.role);
    if (!isRole(role)) throw new UsageError(`--role: one of ${ROLES.join(', ')}`);
    const password = await passwordOf(flags);
    try {
      const u = await createUser(db.pool, email, password, role);
      out(`User ${u.id} ${u.email} created (${u.role}).`);
    } catch (e) {
      if (e instanceof UserExistsError) {
        out(e.message);
        return 1;
      }
      throw new UsageError((e as Error).message);
    }
  },
  { options: { email: 'string', password: 'string', role: 'string' } },
);

const userPasswordCommand = command(
  'user password',
  '  user password --email E [--password P]                  set a web UI user\'s password; ends their sessions',
  async ({ db, out }, _args, flags) => {
    const email = emailOf(flags, 'user password');
    let ok: boolean;
    try {
      ok = await setPassword(db.pool, email, await passwordOf(flags));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
    out(ok ? `Password of ${email} changed; their sessions ended.` : `No user ${email}.`);
    return ok ? 0 : 1;
  },
  { options: { email: 'string', password: 'string' } },
);

const userTwoFactorOffCommand = command(
  'user two-factor-off',
  '  user two-factor-off --email E                           turn a web UI user\'s two-factor log-in off (a lost phone and no recovery code)',
  async ({ db, out }, _args, flags) => {
    const email = emailOf(flags, 'user two-factor-off');
    const user = await memberByEmail(db.pool, email);
    if (!user) {
      out(`No user ${email}.`);
      return 1;
    }
    out((await disableTwoFactor(db.pool, user.id)) ? `Two-factor log-in of ${email} is off: their password alone logs them in.` : `${email} had no two-factor log-in.`);
    return 0;
  },
  { options: { email: 'string' } },
);

const userListCommand = command('user list', '  user list                                               web UI users', async ({ db, out }) => {
  const users = await listUsers(db.pool);
  if (!users.length) out('No users. Create one with: crash-cache-cli user create --email you@example.com');
  for (const u of users) out(`${u.id}\t${u.email}\t${u.role}${u.all_projects ? '' : ' (some projects)'}\t${u.sessions} active session${u.sessions === 1 ? '' : 's'}`);
}, { options: {} });

const userDeleteCommand = command('user delete', '  user delete --email E                                   delete a web UI user, their sessions and tokens (not the last owner)', async ({ db, out }, _args, flags) => {
  const email = emailOf(flags, 'user delete');
  const user = await memberByEmail(db.pool, email);
  if (!user) {
    out(`No user ${email}.`);
    return 1;
  }
  await refusalAsUsage(() => removeMember(db.pool, null, user.id));
  out(`Deleted ${email}.`);
  return 0;
}, { options: { email: 'string' } });

/** The members module's refusals (the last owner, an unknown project) as the CLI's usage errors. */
async function refusalAsUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof HttpError) throw new UsageError(e.detail.replace(/^You do not have permission to perform this action: /, ''));
    throw e;
  }
}

const userRoleCommand = command('user role', '  user role --email E --role R                            change a user\'s role (owner, admin, member, viewer); the last owner stays owner', async ({ db, out }, _args, flags) => {
  const email = emailOf(flags, 'user role');
  const role = String(flags.role ?? '');
  if (!isRole(role)) throw new UsageError(`--role: one of ${ROLES.join(', ')}`);
  const user = await memberByEmail(db.pool, email);
  if (!user) {
    out(`No user ${email}.`);
    return 1;
  }
  const m = await refusalAsUsage(() => changeRole(db.pool, null, user.id, role));
  out(`${m.email} is now ${m.role}.`);
  return 0;
}, { options: { email: 'string', role: 'string' } });

const userProjectsCommand = command('user projects', '  user projects --email E --projects a,b | --all          limit a member or viewer to some projects (slugs or ids), or give them every project', async ({ db, out }, _args, flags) => {
  const email = emailOf(flags, 'user projects');
  const list = typeof flags.projects === 'string' ? flags.projects.split(',').map((x) => x.trim()).filter(Boolean) : null;
  if ((flags.all === true) === (list !== null)) throw new UsageError('user projects needs either --projects a,b or --all');
  if (list !== null && !list.length) throw new UsageError('--projects needs at least one project');
  const user = await memberByEmail(db.pool, email);
  if (!user) {
    out(`No user ${email}.`);
    return 1;
  }
  const ids = list === null ? null : await refusalAsUsage(() => projectIdsOf(db.pool, list));
  const m = await refusalAsUsage(() => setMemberProjects(db.pool, null, user.id, ids));
  const note = m.role === 'owner' || m.role === 'admin' ? ` (as ${m.role}, they see every project anyway)` : '';
  out(ids === null ? `${m.email} sees every project.` : `${m.email} sees only project${ids.length === 1 ? '' : 's'} ${list!.join(', ')}${note}.`);
  return 0;
}, { options: { email: 'string', projects: 'string', all: 'boolean' } });

export const commands: CliCommand[] = [userCreateCommand, userPasswordCommand, userTwoFactorOffCommand, userListCommand, userDeleteCommand, userRoleCommand, userProjectsCommand];
