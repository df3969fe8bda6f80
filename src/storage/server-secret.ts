import { randomBytes } from 'node:crypto';
import type pg from 'pg';

// The one owner of the server_secret table (migrations/0024): keys the server generates once and
// keeps in the database, so that every process on it shares them and a restart keeps them. A key is
// made by the first process that asks (INSERT … ON CONFLICT DO NOTHING, then read back: two processes
// racing end with the same key). Values never leave this module except to the caller; never log them.

export type SecretName = 'login_csrf' | 'oidc_state';

const cache = new Map<string, Promise<Buffer>>();

async function load(pool: pg.Pool, name: SecretName): Promise<Buffer> {
  await pool.query('INSERT INTO server_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, randomBytes(32)]);
  const { rows } = await pool.query<{ value: Buffer }>('SELECT value FROM server_secret WHERE name = $1', [name]);
  return rows[0]!.value;
}

/** The named secret of this database (generated on first use), cached per process and pool. */
export function serverSecret(pool: pg.Pool, name: SecretName): Promise<Buffer> {
  const key = `${name}`;
  let p = cache.get(key);
  if (!p) {
    p = load(pool, name);
    // a failed load (database down) is retried by the next caller
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
