import fs from 'node:fs';
import path from 'node:path';

/**
 * A lock file naming the one process allowed to use a directory (the embedded store, its key store). A lock
 * whose process is gone is stale and taken over, so a killed flowguard never blocks its own restart. That
 * includes a lock naming this very process: after a container restart the new process often gets the pid the
 * killed one had (PID 1, or the same place in the same start-up sequence), and as no two live processes share
 * a pid, a lock with this process's pid that this process did not take was left by a dead one.
 */

/** Lock files this process holds (absolute paths). */
const heldHere = new Set<string>();

/** The live process holding the lock, or undefined when the lock is free or stale. */
export function pidLockHolder(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return heldHere.has(path.resolve(file)) ? pid : undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Take the lock (replacing a stale one) and return its release; `locked` makes the error to throw when a live
 * process holds it (its pid, or undefined when the lock kept changing hands).
 */
export function acquirePidLock(file: string, locked: (pid: number | undefined) => Error): () => void {
  const key = path.resolve(file);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      heldHere.add(key);
      return () => {
        heldHere.delete(key);
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = pidLockHolder(file);
      if (holder !== undefined) throw locked(holder);
      fs.rmSync(file, { force: true });
    }
  }
  throw locked(undefined);
}
