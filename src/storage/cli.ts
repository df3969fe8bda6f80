import { command, UsageError, type CliCommand } from '../cli/command.js';
import { backup, BackupError, restore } from './backup.js';
import { PgToolError } from './pg-tools.js';
import { commands as keyCommands } from './keys-cli.js';

// crash-cache-cli backup / restore (README "Backup and restore"); key … (keys-cli.ts).

const backupCommand = command('backup', '  backup --out FILE                                       pg_dump custom-format archive of the whole database', async ({ config, db, out }, _args, flags) => {
  if (typeof flags.out !== 'string') throw new UsageError('backup needs --out FILE');
  try {
    const r = await backup(db.pool, db.url, flags.out, config.pgBinDir);
    out(`Backed up to ${flags.out} (${r.bytes} bytes, ${r.tool}).`);
  } catch (e) {
    if (e instanceof BackupError || e instanceof PgToolError) throw new UsageError(e.message);
    throw e;
  }
}, { options: { out: 'string' } });

const restoreCommand = command('restore', '  restore FILE                                            restore a backup into an empty database (new DATA_DIR), then migrate it', async ({ config, db, out }, args) => {
  const file = args[0];
  if (!file) throw new UsageError('restore needs the backup FILE');
  try {
    const r = await restore(db.pool, db.url, file, config.pgBinDir);
    out(`Restored ${file}${r.migrated.length ? `; applied migrations ${r.migrated.join(', ')}` : ''}.`);
  } catch (e) {
    if (e instanceof BackupError || e instanceof PgToolError) throw new UsageError(e.message);
    throw e;
  }
}, { migrate: false, options: {} });

export const commands: CliCommand[] = [backupCommand, restoreCommand, ...keyCommands];
