import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

// Who may connect to the embedded PostgreSQL. It listens on 127.0.0.1, where every local account
// can reach it, so nothing rests on the address: each cluster gets its own random passwords at
// initdb, kept in DATA_DIR/pg-credentials.json (mode 0600, readable only by the account running
// crash-cache; the CLI reads it there). Two roles:
// - the bootstrap superuser `postgres`, used only to create the application role and its database
//   (and by the test harness, which creates databases);
// - `crashcache`, NOSUPERUSER NOCREATEDB NOCREATEROLE, owner of the `crashcache` database and of
//   everything in it: what the server and the CLI connect as. Not being a superuser, it cannot run
//   programs (`COPY … FROM PROGRAM`), read files, or touch another database.
// Clusters made before this (superuser password `crash-cache`, everything owned by `postgres`) are
// upgraded on their first start: new passwords written first, then the superuser's rotated, then
// the role created and ownership handed over; each step is redone until it has happened, so a crash
// between two of them is repaired by the next start.

export const SUPERUSER = 'postgres';
export const APP_ROLE = 'crashcache';
export const APP_DB = 'crashcache';
/** The fixed superuser password of clusters made before per-cluster secrets; never valid afterwards. */
export const LEGACY_PASSWORD = 'crash-cache';
const FILE = 'pg-credentials.json';

export interface Credentials {
  superuser: string;
  app: string;
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, FILE);
}

export function readCredentials(dataDir: string): Credentials | null {
  const path = credentialsPath(dataDir);
  if (!existsSync(path)) return null;
  const c = JSON.parse(readFileSync(path, 'utf8')) as Partial<Credentials>;
  if (typeof c.superuser !== 'string' || typeof c.app !== 'string') throw new Error(`${path} is not a crash-cache credentials file; move it away to have new passwords generated`);
  return { superuser: c.superuser, app: c.app };
}

/** 32 random bytes, base64url: 256 bits, no characters that need quoting in a URL or SQL. */
function secret(): string {
  return randomBytes(32).toString('base64url');
}

/** New passwords, written (0600, via a rename so a crash leaves the old file or the new one) before any is used. */
export function createCredentials(dataDir: string): Credentials {
  const c = { superuser: secret(), app: secret() };
  const tmp = `${credentialsPath(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c) + '\n', { mode: 0o600 });
  renameSync(tmp, credentialsPath(dataDir));
  return c;
}

export function urlFor(port: number, user: string, password: string, db: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, PostgreSQL's format):
 * handing PostgreSQL the verifier rather than the password keeps the password out of its log even
 * when a statement is logged.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

async function tryConnect(url: string): Promise<pg.Client | null> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  try {
    await c.connect();
    return c;
  } catch (e) {
    await c.end().catch(() => {});
    if ((e as { code?: string }).code === '28P01') return null; // password authentication failed
    throw e;
  }
}

/**
 * The superuser's URL for the running cluster on `port`, after making sure the file's password is
 * the one that works: a cluster still on the legacy password (or mid-upgrade) gets it rotated.
 */
export async function superuserUrl(dataDir: string, port: number, log: (m: string) => void): Promise<{ url: string; credentials: Credentials }> {
  let credentials = readCredentials(dataDir);
  if (credentials) {
    const c = await tryConnect(urlFor(port, SUPERUSER, credentials.superuser, 'postgres'));
    if (c) {
      await c.end();
      return { url: urlFor(port, SUPERUSER, credentials.superuser, 'postgres'), credentials };
    }
  }
  const legacy = await tryConnect(urlFor(port, SUPERUSER, LEGACY_PASSWORD, 'postgres'));
  if (!legacy) throw new Error(`the embedded PostgreSQL refuses the superuser password in ${credentialsPath(dataDir)}: restore that file, or set DATABASE_URL`);
  try {
    credentials ??= createCredentials(dataDir);
    log(`embedded PostgreSQL: replacing the fixed superuser password with the per-cluster secret in ${credentialsPath(dataDir)}`);
    await legacy.query(`ALTER ROLE ${SUPERUSER} PASSWORD '${scramVerifier(credentials.superuser)}'`);
  } finally {
    await legacy.end();
  }
  return { url: urlFor(port, SUPERUSER, credentials.superuser, 'postgres'), credentials };
}

/**
 * Creates (or repairs) the application role and its database, and returns the URL the application
 * connects with. Idempotent, run on every start: it also sets the role's password to the file's and
 * hands over anything in the database still owned by another role (a cluster from before roles).
 */
export async function ensureAppDatabase(adminUrl: string, credentials: Credentials): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const verifier = scramVerifier(credentials.app);
    const attrs = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${verifier}'`;
    try {
      await admin.query(`CREATE ROLE ${APP_ROLE} ${attrs}`);
    } catch (e) {
      // exists (or created concurrently by another process starting at the same time)
      if (!['42710', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      await admin.query(`ALTER ROLE ${APP_ROLE} ${attrs}`);
    }
    const r = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [APP_DB]);
    if (r.rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE ${APP_DB} OWNER ${APP_ROLE}`);
      } catch (e) {
        if (!['42P04', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      }
    } else if (r.rows[0]!.owner !== APP_ROLE) {
      await admin.query(`ALTER DATABASE ${APP_DB} OWNER TO ${APP_ROLE}`);
    }
    // The role has no business in the maintenance databases (PUBLIC may connect to them by default).
    await admin.query(`REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${APP_DB}`;
  await handOver(u.toString());
  const app = new URL(u);
  app.username = APP_ROLE;
  app.password = encodeURIComponent(credentials.app);
  return app.toString();
}

/** Gives the application role everything in its database's public schema that another role owns. */
async function handOver(superuserAppDbUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: superuserAppDbUrl });
  c.on('error', () => {});
  await c.connect();
  try {
    // Tables own their sequences, indexes and TOAST tables (which follow them); functions and types
    // are changed one by one. The schema itself belongs to pg_database_owner on PostgreSQL ≥ 15,
    // to the bootstrap superuser before that.
    await c.query(`DO $$
      DECLARE r record;
      BEGIN
        IF (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') NOT IN ('${APP_ROLE}', 'pg_database_owner') THEN
          EXECUTE 'ALTER SCHEMA public OWNER TO ${APP_ROLE}';
        END IF;
        FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                    AND pg_get_userbyid(c.relowner) <> '${APP_ROLE}' LOOP
          EXECUTE format('ALTER %s %s OWNER TO ${APP_ROLE}', CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name);
        END LOOP;
        FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> '${APP_ROLE}'
                    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
          EXECUTE format('ALTER SEQUENCE %s OWNER TO ${APP_ROLE}', r.name);
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '${APP_ROLE}' LOOP
          EXECUTE format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', r.name);
        END LOOP;
        FOR r IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
                    AND pg_get_userbyid(t.typowner) <> '${APP_ROLE}' LOOP
          EXECUTE format('ALTER %s %s OWNER TO ${APP_ROLE}', CASE WHEN r.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.name);
        END LOOP;
      END $$`);
  } finally {
    await c.end();
  }
}
