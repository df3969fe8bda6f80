import { availableParallelism, totalmem } from 'node:os';

/** What the defaults are sized for (loadConfig): the machine as this process sees it. */
export interface Machine {
  /** Bytes: the machine's memory, or its container's limit (cgroup v1 or v2) when that is lower. */
  memory(): number;
  /** CPUs this process may run on (its affinity; a container's CPU quota is not seen). */
  cpus(): number;
}

export const MACHINE: Machine = {
  memory() {
    const total = totalmem();
    // Node reports "no limit" as a value far above the machine's memory
    const limit = process.constrainedMemory();
    return limit > 0 && limit < total ? limit : total;
  },
  cpus: availableParallelism,
};
