import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** What the defaults are sized for (loadConfig): the machine as this process sees it. */
export interface Machine {
  /** Bytes: the machine's memory, or its container's limit (cgroup v1 or v2) when that is lower. */
  memory(): number;
  /** CPUs this process may run on: its affinity, or its container's CPU quota when that is lower. */
  cpus(): number;
}

// A container's CPU quota (`docker run --cpus=1`, a Kubernetes CPU limit) is a cgroup setting:
// cgroup v2's `cpu.max` ("150000 100000" = 1.5 CPUs, "max 100000" = none) or v1's
// `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 = none), at the process's cgroup or any above it.
// os.availableParallelism() reads cgroup v2's quota itself since libuv 1.49, but not every v1
// layout: on this project's 2-core test machine (cgroup v1, the `cpu` controller mounted on its
// own) it said 2 inside a 1-CPU quota on Node 22 and 26 (libuv 1.51, 1.52). So the quota is read
// here too. Like libuv and Rust's available_parallelism, a fraction rounds down: 1.5 CPUs is 1.

const V2_ROOT = '/sys/fs/cgroup';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** CPUs a quota of `quota` µs of CPU time per `period` µs allows (at least 1), or null when it sets none. */
export function cpusOfQuota(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return Math.max(1, Math.floor(quota / period));
}

function v2Limit(dir: string): number | null {
  const text = read(join(dir, 'cpu.max'));
  if (text === null) return null;
  const [quota, period] = text.trim().split(/\s+/);
  return quota === 'max' ? null : cpusOfQuota(Number(quota), Number(period));
}

function v1Limit(dir: string): number | null {
  const quota = read(join(dir, 'cpu.cfs_quota_us'));
  const period = read(join(dir, 'cpu.cfs_period_us'));
  return quota === null || period === null ? null : cpusOfQuota(Number(quota.trim()), Number(period.trim()));
}

/**
 * The tightest limit from the process's cgroup `path` up to the hierarchy's `root` (the kernel
 * applies every level's). In a container without a cgroup namespace the path names the host's
 * hierarchy while the mount shows only the container's own cgroup at its root: then the root's
 * files are the container's.
 */
function tightest(root: string, path: string, limitAt: (dir: string) => number | null): number | null {
  const own = resolve(root, `.${path}`);
  const start = own.startsWith(root + '/') && existsSync(own) ? own : root;
  let best: number | null = null;
  for (let d = start; ; d = dirname(d)) {
    const l = limitAt(d);
    if (l !== null && (best === null || l < best)) best = l;
    if (d === root || !d.startsWith(root + '/')) return best;
  }
}

/**
 * Where this process's cgroup CPU quota is, from the text of /proc/self/cgroup: cgroup v2's
 * directory under its root, or v1's `cpu` controller and its path. Null when neither is listed.
 */
export function cpuCgroupOf(procSelfCgroup: string): { version: 2; path: string } | { version: 1; controllers: string; path: string } | null {
  let v2: string | null = null;
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
    else if (m[2]!.split(',').includes('cpu')) return { version: 1, controllers: m[2]!, path: m[3]! };
  }
  return v2 === null ? null : { version: 2, path: v2 };
}

/** CPUs the process's cgroup quota allows, or null when it has none (or none can be read: not Linux). */
export function cgroupCpuLimit(): number | null {
  const self = read('/proc/self/cgroup');
  const cg = self === null ? null : cpuCgroupOf(self);
  if (!cg) return null;
  if (cg.version === 2) return existsSync(join(V2_ROOT, 'cgroup.controllers')) ? tightest(V2_ROOT, cg.path, v2Limit) : null;
  // v1: the controller is mounted as /sys/fs/cgroup/cpu or /sys/fs/cgroup/cpu,cpuacct
  for (const name of new Set([cg.controllers, 'cpu', 'cpu,cpuacct'])) {
    const root = join(V2_ROOT, name);
    if (existsSync(join(root, 'cpu.cfs_quota_us'))) return tightest(root, cg.path, v1Limit);
  }
  return null;
}

export const MACHINE: Machine = {
  memory() {
    const total = totalmem();
    // Node reports "no limit" as a value far above the machine's memory
    const limit = process.constrainedMemory();
    return limit > 0 && limit < total ? limit : total;
  },
  cpus() {
    const affinity = availableParallelism();
    const quota = cgroupCpuLimit();
    return quota !== null && quota < affinity ? quota : affinity;
  },
};
