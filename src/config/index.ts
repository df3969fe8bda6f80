import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MACHINE, type Machine } from './machine.js';
import { SETTINGS, SMALL_MEMORY_BYTES, type Setting } from './settings.js';

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  pgBinDir: string | undefined;
  dbPoolSize: number;
  /** MEMORY_BUDGET, or the machine's (container's) memory when unset. */
  memoryBudget: number;
  /** CPUs the defaults were sized for (machine.ts: affinity, or a container's CPU quota). */
  cpus: number;
  dbStatementTimeoutMs: number;
  dbConnectTimeoutMs: number;
  diskMinFreeBytes: number;
  diskMinFreePercent: number;
  serverHost: string;
  serverPort: number;
  httpProcesses: number;
  publicUrl: string;
  organizationSlug: string;
  trustedProxies: string[];
  maxCompressedBodyBytes: number;
  maxEnvelopeBytes: number;
  maxEventBytes: number;
  maxAttachmentBytes: number;
  maxSessionItems: number;
  maxConcurrentCompressions: number;
  ingestCommitMaxBatch: number;
  ingestCommitsInFlight: number;
  ingestMaxPendingCommits: number;
  ingestMaxPendingBytes: number;
  ingestKeyCacheMs: number;
  archiveRecompressClientBodies: boolean;
  rateLimitGlobalPerSec: number;
  rateLimitPerIpPerSec: number;
  rateLimitPerProjectPerSec: number;
  rateLimitBurstSecs: number;
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginFailureWindowSecs: number;
  loginBackoffMaxSecs: number;
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  oidcClientSecret: string | undefined;
  oidcDefaultRole: 'viewer' | 'member' | 'admin';
  /** lower-case e-mail domains; empty = any */
  oidcAllowedDomains: string[];
  oidcProviderName: string;
  passwordLogin: boolean;
  inviteTtlHours: number;
  passwordResetTtlMinutes: number;
  loginSecondFactorSecs: number;
  requireTwoFactor: boolean;
  passwordResetMinIntervalSecs: number;
  maxUrlChars: number;
  searchMaxQueryChars: number;
  searchMaxFilters: number;
  commentMaxChars: number;
  workerIntervalSecs: number;
  workerBudgetSecs: number;
  workerBatchSize: number;
  workerBatchBytes: number;
  workerMaxAttempts: number;
  workerThreads: number;
  workerThreadsIdleSecs: number;
  scrubMaxDepth: number;
  scrubMaxFields: number;
  scrubMaxFieldChars: number;
  alertTimeoutMs: number;
  alertRetrySecs: number;
  alertMaxAttempts: number;
  alertRetentionDays: number;
  smtpUrl: string | undefined;
  alertEmailFrom: string;
  outboundAllowInternal: string[];
  metricsToken: string | undefined;
  metricsPort: number;
  retentionDays: number;
  /** The disk budget in bytes; undefined = none. */
  storageMaxBytes: number | undefined;
  storageLowWaterPercent: number;
  retentionIntervalSecs: number;
  retentionBatchSize: number;
  sourcemapChunkBytes: number;
  sourcemapMaxBundleBytes: number;
  sourcemapMaxProjectBytes: number;
  sourcemapCacheBytes: number;
  sourcemapRetentionDays: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

export class ConfigError extends Error {}

/** Parses KEY=VALUE lines of a .env file; quotes are stripped, `#` starts a comment line. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `20GB`, `1.5 TiB`, `500000000` → bytes; null when it is not a size (negative, unknown unit, not finite). */
export function parseBytes(raw: string): number | null {
  const m = /^(\d{1,15}(?:\.\d{1,6})?)\s?([a-z]{0,3})$/i.exec(raw.trim());
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

function camel(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function parseOne(s: Setting, raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return s.default;
  switch (s.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter(Boolean);
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${s.name} must be true or false, got ${JSON.stringify(raw)}`);
    case 'url':
      try {
        new URL(raw);
      } catch {
        // a URL may carry a password (SMTP_URL, DATABASE_URL): never echoed
        throw new ConfigError(`${s.name} must be a URL`);
      }
      return raw.replace(/\/+$/, s.name === 'PUBLIC_URL' ? '' : '$&');
    case 'bytes': {
      const n = parseBytes(raw);
      if (n === null) throw new ConfigError(`${s.name} must be a size like 20GB, 500MiB or a number of bytes, got ${JSON.stringify(raw)}`);
      if (s.min !== undefined && n < s.min) throw new ConfigError(`${s.name} must be ≥ ${s.min} bytes, got ${n}`);
      return n;
    }
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${s.name} must be an integer, got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if (s.min !== undefined && n < s.min) throw new ConfigError(`${s.name} must be ≥ ${s.min}, got ${n}`);
      if (s.max !== undefined && n > s.max) throw new ConfigError(`${s.name} must be ≤ ${s.max}, got ${n}`);
      return n;
    }
  }
}

/** OIDC settings that only make sense together (src/oidc/). */
function checkOidc(out: Record<string, unknown>): void {
  const issuer = out.oidcIssuer as string | undefined;
  if (issuer !== undefined && !/^https?:\/\//i.test(issuer)) throw new ConfigError('OIDC_ISSUER must be an http(s) URL');
  if (issuer !== undefined && !out.oidcClientId) throw new ConfigError('OIDC_CLIENT_ID is required with OIDC_ISSUER');
  if (issuer === undefined && out.oidcClientId) throw new ConfigError('OIDC_CLIENT_ID is set but OIDC_ISSUER is not');
  if (!['viewer', 'member', 'admin'].includes(out.oidcDefaultRole as string)) {
    throw new ConfigError(`OIDC_DEFAULT_ROLE must be viewer, member or admin, got ${JSON.stringify(out.oidcDefaultRole)}`);
  }
  out.oidcAllowedDomains = (out.oidcAllowedDomains as string[]).map((d) => d.toLowerCase().replace(/^@/, ''));
  if (out.passwordLogin === false && issuer === undefined) {
    throw new ConfigError('PASSWORD_LOGIN=false needs OIDC_ISSUER: nobody could log in to the web UI');
  }
}

/**
 * Reads the settings once: explicit `env` (default process.env) wins over the `.env` file in the
 * working directory, which wins over defaults — sized for `machine`: a setting's `small` default
 * when MEMORY_BUDGET (else the machine's memory) is under SMALL_MEMORY_BYTES, its `oneCpu` default
 * on one CPU. Throws ConfigError naming the variable on bad input.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd(), machine: Machine = MACHINE): Readonly<Config> {
  const dotenvPath = resolve(cwd, '.env');
  const fileVars = existsSync(dotenvPath) ? parseDotEnv(readFileSync(dotenvPath, 'utf8')) : {};
  const raw = (s: Setting) => env[s.name] ?? fileVars[s.name];
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS as readonly Setting[]) {
    out[camel(s.name)] = parseOne(s, raw(s));
  }
  out.memoryBudget ??= machine.memory();
  const small = (out.memoryBudget as number) < SMALL_MEMORY_BYTES;
  out.cpus = machine.cpus();
  const oneCpu = out.cpus === 1;
  for (const s of SETTINGS as readonly Setting[]) {
    if (raw(s)) continue;
    if (small && s.small !== undefined) out[camel(s.name)] = s.small;
    if (oneCpu && s.oneCpu !== undefined) out[camel(s.name)] = s.oneCpu;
  }
  const level = out.logLevel as string;
  if (!['error', 'warn', 'info', 'debug'].includes(level)) throw new ConfigError(`LOG_LEVEL must be error, warn, info or debug, got ${JSON.stringify(level)}`);
  out.dataDir = resolve(cwd, out.dataDir as string);
  if (out.smtpUrl !== undefined && !/^smtps?:\/\//i.test(out.smtpUrl as string)) throw new ConfigError('SMTP_URL must start with smtp:// or smtps://');
  checkOidc(out);
  if (!out.publicUrl) out.publicUrl = `http://localhost:${out.serverPort as number}`;
  return Object.freeze(out) as unknown as Config;
}
