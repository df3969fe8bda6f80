import { statfs } from 'node:fs/promises';

// The free-space floor of the embedded PostgreSQL's filesystem (DATA_DIR). PostgreSQL PANICs and
// stops when it cannot write its WAL; long before that, ingest stops taking payloads (503 +
// Retry-After, outcome rate_limited, reason disk_full) while the digest and retention go on, and they
// are what gives space back (retention deletes; the digest turns queue rows into smaller reports).
// Checked every CHECK_MS: statfs is one system call (~10 µs), and at 10k events/s of 2 KB ingest
// writes ~20 MB between two checks, far below the floor's default of 1 GiB. Space counted is what
// an unprivileged account may use (bavail): PostgreSQL does not run as root.

const CHECK_MS = 1000;

export interface DiskFloor {
  minFreeBytes: number;
  minFreePercent: number;
}

export interface DiskSpace {
  /** null while there is room, else why not (for the 503's detail). */
  low(): string | null;
  /** Last measurement, for /health. */
  status(): { free_bytes: number; total_bytes: number; min_free_bytes: number; low: boolean } | null;
  close(): void;
}

export function floorBytes(totalBytes: number, floor: DiskFloor): number {
  return Math.max(floor.minFreeBytes, Math.ceil((totalBytes * floor.minFreePercent) / 100));
}

export async function watchDiskSpace(dir: string, floor: DiskFloor, log: (m: string, fields?: Record<string, unknown>) => void): Promise<DiskSpace> {
  let last: { free: number; total: number; min: number } | null = null;
  let isLow = false;
  const measure = async () => {
    try {
      const s = await statfs(dir);
      const total = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      const min = floorBytes(total, floor);
      last = { free, total, min };
      const nowLow = free < min;
      if (nowLow !== isLow) {
        isLow = nowLow;
        if (nowLow) log('disk space below the floor: ingest refuses new payloads until space is freed', { dir, free_bytes: free, min_free_bytes: min });
        else log('disk space above the floor again: ingest accepts payloads', { dir, free_bytes: free, min_free_bytes: min });
      }
    } catch (e) {
      log('cannot read free disk space', { dir, error: (e as Error).message });
    }
  };
  await measure();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void measure().finally(() => (busy = false));
  }, CHECK_MS);
  timer.unref();
  return {
    low: () => (isLow && last ? `${last.free} bytes free on the database's filesystem, under the floor of ${last.min} (DISK_MIN_FREE_BYTES / DISK_MIN_FREE_PERCENT)` : null),
    status: () => (last ? { free_bytes: last.free, total_bytes: last.total, min_free_bytes: last.min, low: isLow } : null),
    close: () => clearInterval(timer),
  };
}
