import type { Config } from '../config/index.js';

/** A project key's DSN as SDKs take it: PUBLIC_URL with the key as its user and the project id as its path. */
export function dsn(config: Config, key: string, projectId: number): string {
  const u = new URL(config.publicUrl);
  return `${u.protocol}//${key}@${u.host}${u.pathname.replace(/\/$/, '')}/${projectId}`;
}
