// One-line JSON logs on stderr. 5xx and crashes are `error`; client mistakes (4xx) are `debug`.
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type Level = keyof typeof LEVELS;

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: Level = 'info', name = 'crash-cache'): Logger {
  const max = LEVELS[level];
  const emit = (l: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[l] > max) return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: l, name, msg, ...fields }) + '\n');
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}
