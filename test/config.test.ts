import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseBytes, parseDotEnv } from '../src/config/index.js';
import { SETTINGS } from '../src/config/settings.js';
import { PACKAGE_ROOT } from '../src/paths.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({}, '/nonexistent');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('/nonexistent/data');
    expect(c.serverHost).toBe('0.0.0.0');
    expect(c.serverPort).toBe(3000);
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.workerIntervalSecs).toBe(60);
    expect(c.workerBudgetSecs).toBe(50);
    expect(c.maxConcurrentCompressions).toBe(16);
    expect(c.rateLimitGlobalPerSec).toBe(100);
    expect(c.rateLimitPerIpPerSec).toBe(10);
    expect(c.rateLimitPerProjectPerSec).toBe(50);
    expect(c.maxEventBytes).toBe(1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable when a value is invalid', () => {
    expect(() => loadConfig({ SERVER_PORT: 'abc' }, '/nonexistent')).toThrow(ConfigError);
    expect(() => loadConfig({ SERVER_PORT: 'abc' }, '/nonexistent')).toThrow(/SERVER_PORT/);
    expect(() => loadConfig({ WORKER_INTERVAL_SECS: '0' }, '/nonexistent')).toThrow(/WORKER_INTERVAL_SECS must be ≥ 1/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' }, '/nonexistent')).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' }, '/nonexistent')).toThrow(/LOG_LEVEL/);
  });

  it('reads retention settings and sizes, and names the variable when one is bad', () => {
    const c = loadConfig({}, '/nonexistent');
    expect(c.retentionDays).toBe(90);
    expect(c.storageMaxBytes).toBeUndefined();
    expect(loadConfig({ STORAGE_MAX_BYTES: '20GB' }, '/nonexistent').storageMaxBytes).toBe(20e9);
    expect(loadConfig({ STORAGE_MAX_BYTES: '1.5 GiB' }, '/nonexistent').storageMaxBytes).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('500000000')).toBe(500_000_000);
    for (const bad of ['-1', '20XB', 'GB', '1e9', '']) expect(parseBytes(bad), bad).toBeNull();
    expect(() => loadConfig({ STORAGE_MAX_BYTES: '-1' }, '/nonexistent')).toThrow(/^STORAGE_MAX_BYTES must be a size/);
    expect(() => loadConfig({ STORAGE_MAX_BYTES: '1MB' }, '/nonexistent')).toThrow(/^STORAGE_MAX_BYTES must be ≥/);
    expect(() => loadConfig({ RETENTION_DAYS: 'abc' }, '/nonexistent')).toThrow(/^RETENTION_DAYS must be an integer/);
    expect(() => loadConfig({ RETENTION_DAYS: '0' }, '/nonexistent')).toThrow(/^RETENTION_DAYS must be ≥ 1/);
  });

  it('checks the OIDC settings together', () => {
    const c = loadConfig({}, '/nonexistent');
    expect([c.oidcIssuer, c.passwordLogin, c.oidcDefaultRole, c.oidcAllowedDomains]).toEqual([undefined, true, 'member', []]);
    const on = loadConfig({ OIDC_ISSUER: 'https://id.example.com/realms/x', OIDC_CLIENT_ID: 'cc', OIDC_ALLOWED_DOMAINS: 'Example.com, @corp.example', PASSWORD_LOGIN: 'false' }, '/nonexistent');
    expect([on.oidcAllowedDomains, on.passwordLogin]).toEqual([['example.com', 'corp.example'], false]);
    expect(() => loadConfig({ OIDC_ISSUER: 'https://id.example.com' }, '/nonexistent')).toThrow(/^OIDC_CLIENT_ID is required/);
    expect(() => loadConfig({ PASSWORD_LOGIN: 'false' }, '/nonexistent')).toThrow(/^PASSWORD_LOGIN=false needs OIDC_ISSUER/);
    expect(() => loadConfig({ OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'cc', OIDC_DEFAULT_ROLE: 'owner' }, '/nonexistent')).toThrow(/^OIDC_DEFAULT_ROLE must be viewer, member or admin/);
    expect(() => loadConfig({ OIDC_ISSUER: 'ftp://id.example.com', OIDC_CLIENT_ID: 'cc' }, '/nonexistent')).toThrow(/^OIDC_ISSUER must be an http/);
  });

  it('sizes itself for a small box: MEMORY_BUDGET (else the machine\'s memory) and one CPU pick defaults an explicit value overrides', () => {
    const MiB = 1024 * 1024;
    const machine = (mib: number, cpus = 2) => ({ memory: () => mib * MiB, cpus: () => cpus });
    const big = loadConfig({}, '/nonexistent', machine(2048));
    expect([big.memoryBudget, big.dbPoolSize, big.workerBatchBytes, big.workerThreads]).toEqual([2048 * MiB, 10, 2 * MiB, 1]);
    // a "512 MB" virtual machine, or a container limited to it, reports less than 512 MiB
    const vm = loadConfig({}, '/nonexistent', machine(470));
    expect([vm.memoryBudget, vm.dbPoolSize, vm.workerBatchBytes, vm.workerThreads]).toEqual([470 * MiB, 5, 1 * MiB, 1]);
    // one CPU: no digest thread, whatever the memory
    expect(loadConfig({}, '/nonexistent', machine(4096, 1)).workerThreads).toBe(0);
    expect(loadConfig({}, '/nonexistent', machine(470, 1)).workerThreads).toBe(0);
    // the setting wins over what the machine says, both ways
    expect(loadConfig({ MEMORY_BUDGET: '512MiB' }, '/nonexistent', machine(2048)).dbPoolSize).toBe(5);
    expect(loadConfig({ MEMORY_BUDGET: '1GiB' }, '/nonexistent', machine(470)).dbPoolSize).toBe(10);
    // an explicit value of a setting is never replaced
    const mine = loadConfig({ DB_POOL_SIZE: '8', WORKER_BATCH_BYTES: String(4 * MiB), WORKER_THREADS: '1' }, '/nonexistent', machine(470, 1));
    expect([mine.dbPoolSize, mine.workerBatchBytes, mine.workerThreads]).toEqual([8, 4 * MiB, 1]);
    expect(() => loadConfig({ MEMORY_BUDGET: '32MB' }, '/nonexistent')).toThrow(/^MEMORY_BUDGET must be ≥/);
    expect(() => loadConfig({ MEMORY_BUDGET: 'half' }, '/nonexistent')).toThrow(/^MEMORY_BUDGET must be a size/);
  });

  it('reads .env lines, the environment winning', () => {
    expect(parseDotEnv('# c\nA=1\nexport B="two"\nC=\'3\'\n')).toEqual({ A: '1', B: 'two', C: '3' });
  });

  it('documents every setting in the README', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    for (const s of SETTINGS) expect(readme, `README documents ${s.name}`).toContain(`\`${s.name}\``);
  });
});
