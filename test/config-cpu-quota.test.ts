import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuCgroupOf, cpusOfQuota } from '../src/config/machine.js';
import { PACKAGE_ROOT } from '../src/paths.js';

// A container's CPU quota sizes the defaults as the machine's CPUs do (src/config/machine.ts):
// a process limited to one CPU runs the digest without a prepare thread (WORKER_THREADS 0).

describe('where the CPU quota is read', () => {
  it('finds cgroup v2, a hybrid host\'s v1 cpu controller, and Docker\'s cpu,cpuacct', () => {
    expect(cpuCgroupOf('0::/system.slice/crash-cache.service\n')).toEqual({ version: 2, path: '/system.slice/crash-cache.service' });
    // a hybrid host: the v2 line is there, but the cpu controller is v1's
    expect(cpuCgroupOf('4:memory:/a\n3:cpuset:/\n1:cpu:/box\n0::/\n')).toEqual({ version: 1, controllers: 'cpu', path: '/box' });
    expect(cpuCgroupOf('0::/\n5:cpu,cpuacct:/docker/0123abcd\n')).toEqual({ version: 1, controllers: 'cpu,cpuacct', path: '/docker/0123abcd' });
    // cpuacct alone holds no quota
    expect(cpuCgroupOf('2:cpuacct:/x\n')).toBeNull();
    expect(cpuCgroupOf('')).toBeNull();
  });

  it('rounds a fractional quota down, as libuv and Rust do, and reads -1 / max as none', () => {
    expect(cpusOfQuota(100_000, 100_000)).toBe(1);
    expect(cpusOfQuota(150_000, 100_000)).toBe(1);
    expect(cpusOfQuota(250_000, 100_000)).toBe(2);
    expect(cpusOfQuota(50_000, 100_000)).toBe(1);
    expect(cpusOfQuota(-1, 100_000)).toBeNull();
    expect(cpusOfQuota(Number('max'), 100_000)).toBeNull();
    expect(cpusOfQuota(100_000, 0)).toBeNull();
  });
});

/** A child cgroup of this process's with a quota of `cpus` CPUs, or why none can be made here (needs root). */
function cpuCgroup(cpus: number): { path: string; remove(): void } | string {
  const self = cpuCgroupOf(readFileSync('/proc/self/cgroup', 'utf8'));
  if (!self) return 'no cpu cgroup listed in /proc/self/cgroup';
  const root = self.version === 2 ? '/sys/fs/cgroup' : ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((r) => existsSync(join(r, 'cpu.cfs_quota_us')));
  if (!root) return 'no cpu controller mounted';
  const path = join(root, self.path, `cc-cpu-quota-${process.pid}`);
  try {
    mkdirSync(path);
  } catch (e) {
    return `cannot create ${path}: ${(e as Error).message}`;
  }
  try {
    if (self.version === 2) writeFileSync(join(path, 'cpu.max'), `${cpus * 100_000} 100000`);
    else {
      writeFileSync(join(path, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(path, 'cpu.cfs_quota_us'), String(cpus * 100_000));
    }
  } catch (e) {
    rmdirSync(path);
    return `cannot set a CPU quota (is the cpu controller enabled for ${join(root, self.path)}?): ${(e as Error).message}`;
  }
  return { path, remove: () => rmdirSync(path) };
}

const canTry = process.platform === 'linux' && availableParallelism() > 1 && process.getuid?.() === 0;
const cg = canTry ? cpuCgroup(1) : 'needs Linux, root and more than one CPU';
if (typeof cg === 'string') console.log(`cpu quota test skipped: ${cg}`);

it.skipIf(typeof cg === 'string')('a process in a one-CPU cgroup counts one CPU and starts no prepare thread by default', () => {
  const box = cg as { path: string; remove(): void };
  try {
    // The process enters the cgroup itself, then loads the module (`npm test` built dist/ first).
    const script = `
      import { writeFileSync } from 'node:fs';
      writeFileSync(${JSON.stringify(join(box.path, 'cgroup.procs'))}, String(process.pid));
      const { MACHINE } = await import(${JSON.stringify(join(PACKAGE_ROOT, 'dist/src/config/machine.js'))});
      const { loadConfig } = await import(${JSON.stringify(join(PACKAGE_ROOT, 'dist/src/config/index.js'))});
      console.log(JSON.stringify({ cpus: MACHINE.cpus(), workerThreads: loadConfig({}, '/nonexistent').workerThreads}));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(out.cpus).toBe(1);
    expect(out.workerThreads).toBe(0);
  } finally {
    box.remove();
  }
});
