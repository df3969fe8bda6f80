import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// A memory cgroup for the small-box phase (phase-box.ts): a memory limit like a small machine's,
// put around the processes started while the bench's own process is inside it. cgroup v2 (one
// hierarchy, `memory.max`) or v1 (the `memory` controller's own, `memory.limit_in_bytes`); both
// need the right to create a child of this process's cgroup (root on most machines). Its numbers
// are the kernel's own accounting of the cgroup (`memory.stat`, the OOM-kill count).

export interface MemoryCgroup {
  path: string;
  /** Moves the calling process in (what it starts from now on is inside) or back out. */
  enter(): void;
  leave(): void;
  /** Anonymous + shared memory now (MB): what the kernel cannot reclaim without swap. */
  unreclaimableMb(): number;
  /** Processes the kernel's OOM killer killed in it. */
  oomKills(): number;
  /** Kills whatever is still inside and removes it. */
  remove(): void;
}

const MB = 1024 * 1024;

function stat(file: string): Record<string, number> {
  return Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; }));
}

/** A child cgroup limited to `limitMb`, or the reason none can be made here. */
export function makeMemoryCgroup(name: string, limitMb: number): MemoryCgroup | string {
  let self: string;
  try {
    self = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return 'no /proc/self/cgroup (not Linux)';
  }
  const v1 = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(self);
  const v2 = /^0::(.*)$/m.exec(self);
  let parent: string;
  let version: 1 | 2;
  if (v1 && existsSync('/sys/fs/cgroup/memory')) [parent, version] = [join('/sys/fs/cgroup/memory', v1[1]!), 1];
  else if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) [parent, version] = [join('/sys/fs/cgroup', v2[1]!), 2];
  else return 'no memory cgroup controller mounted';
  const path = join(parent, `${name}-${process.pid}`);
  try {
    mkdirSync(path);
  } catch (e) {
    return `cannot create a cgroup under ${parent}: ${(e as Error).message}`;
  }
  const limitFile = version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
  try {
    writeFileSync(join(path, limitFile), String(limitMb * MB));
  } catch (e) {
    rmdirSync(path);
    return `cannot set ${limitFile} (cgroup v${version}: is the memory controller enabled for ${parent}?): ${(e as Error).message}`;
  }
  const procs = () => readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  const move = (dir: string, pid: number) => writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  return {
    path,
    enter: () => move(path, process.pid),
    leave: () => move(parent, process.pid),
    unreclaimableMb() {
      const s = stat(join(path, 'memory.stat'));
      return Math.round(((version === 1 ? s.total_rss! + s.total_shmem! : s.anon! + s.shmem!) || 0) / MB);
    },
    oomKills() {
      if (version === 2) return stat(join(path, 'memory.events')).oom_kill ?? 0;
      const m = /oom_kill (\d+)/.exec(readFileSync(join(path, 'memory.oom_control'), 'utf8'));
      return m ? Number(m[1]) : 0;
    },
    remove() {
      // never the bench itself, should it still be inside
      const others = () => procs().filter((pid) => pid !== process.pid);
      for (let i = 0; i < 50 && others().length; i++) {
        for (const pid of others()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
      try {
        rmdirSync(path);
      } catch {
        /* still busy: the kernel removes nothing here by itself, but an empty one costs nothing */
      }
    },
  };
}
