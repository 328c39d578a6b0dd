import fs from 'node:fs';
import path from 'node:path';

/**
 * flowguard's own rotated log files are named `<path>.YYYY-MM-DD` (and `.N` for the day's further size
 * rotations). Those last written more than `ttlDays` ago are deleted: at start-up, on each rotation and by the
 * retention sweeper. Only names of that exact shape beside the live file are touched.
 */

const ROTATED_SUFFIX = /^\d{4}-\d{2}-\d{2}(\.\d+)?$/;

export interface ExpireLogFilesResult {
  expired: number;
  deleted: number;
}

/** Rotated files of the live log file `logPath`, oldest name first. */
export function rotatedLogFiles(logPath: string): string[] {
  const dir = path.dirname(logPath);
  const prefix = `${path.basename(logPath)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && ROTATED_SUFFIX.test(n.slice(prefix.length)))
    .sort()
    .map((n) => path.join(dir, n));
}

export function expireLogFiles(
  logPath: string,
  ttlDays: number,
  now: Date,
  opts: { dryRun?: boolean } = {},
): ExpireLogFilesResult {
  const cutoff = now.getTime() - ttlDays * 86_400_000;
  const result: ExpireLogFilesResult = { expired: 0, deleted: 0 };
  for (const file of rotatedLogFiles(logPath)) {
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      continue;
    }
    if (mtime >= cutoff) continue;
    result.expired++;
    if (opts.dryRun) continue;
    try {
      fs.rmSync(file, { force: true });
      result.deleted++;
    } catch {
      // Removed by someone else, or not ours to remove: the next sweep reports it again.
    }
  }
  return result;
}
