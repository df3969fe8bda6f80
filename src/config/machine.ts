import { totalmem } from 'node:os';

/**
 * The memory this process may plan for: the machine's, or its container's limit (cgroup v1 or v2)
 * when that is lower. Node reports "no limit" as a value far above the machine's memory.
 */
export function machineMemory(): number {
  const total = totalmem();
  const limit = process.constrainedMemory();
  return limit > 0 && limit < total ? limit : total;
}
