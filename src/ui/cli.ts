import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UsageError, registerCommand } from '../cli/main.js';
import { UserExistsError, createUser } from './users.js';

// `user create --email E [--password P]`: without --password, asks twice on a terminal (input not echoed).

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

registerCommand(
  'user create',
  '  user create --email E [--password P]                    create a web UI user (the first one is admin); asks for the password if not given',
  async ({ db, out }, _args, flags) => {
    const email = typeof flags.email === 'string' ? flags.email : '';
    if (!email) throw new UsageError('user create needs --email');
    let password = typeof flags.password === 'string' ? flags.password : '';
    if (!password) {
      if (!process.stdin.isTTY) throw new UsageError('user create needs --password when not run on a terminal');
      password = await promptHidden('Password: ');
      if ((await promptHidden('Repeat password: ')) !== password) throw new UsageError('the passwords differ');
    }
    try {
      const u = await createUser(db.pool, email, password);
      out(`User ${u.id} ${u.email} created${u.is_admin ? ' (admin)' : ''}.`);
    } catch (e) {
      if (e instanceof UserExistsError) {
        out(e.message);
        return 1;
      }
      throw new UsageError((e as Error).message);
    }
  },
);
