import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * CPU time and peak memory of a process from /proc (Linux): utime + stime of /proc/<pid>/stat in clock ticks,
 * VmHWM (peak resident set) of /proc/<pid>/status. Writing "5" to /proc/<pid>/clear_refs resets the peak to the
 * current RSS, so each measured run gets its own peak. Elsewhere the numbers are reported as 0.
 */

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return 0;
  }
}

function statusField(pid: number, name: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident memory in MB since the process started or since the last resetPeakRss. */
export function peakRssMb(pid: number): number {
  return statusField(pid, 'VmHWM');
}

export function resetPeakRss(pid: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not Linux or not allowed: the peak then covers the process's whole life, which the report says.
  }
}

/** CPU seconds used so far by each process named `postgres` (the server's backends and helpers), by pid. */
export function postgresCpu(): Map<number, number> {
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return byPid;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/comm`, 'utf8').trim() === 'postgres')
        byPid.set(Number(e), cpuSeconds(Number(e)));
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

/**
 * CPU seconds PostgreSQL's processes used since `before` (a `postgresCpu()` snapshot): per process alive now,
 * what it used since then (all of it for one started since). A process that ended meanwhile took its time
 * with it: the figure can be low, never negative.
 */
export function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of postgresCpu()) total += Math.max(0, seconds - (before.get(pid) ?? 0));
  return total;
}

/** A CPU/memory probe around one measured run, for the server process and the harness itself. */
export interface ProcWindow {
  stop(): {
    serverCpuSeconds: number;
    clientCpuSeconds: number;
    dbCpuSeconds: number;
    serverPeakRssMb: number;
    clientPeakRssMb: number;
  };
}

export function openWindow(serverPid: number | undefined): ProcWindow {
  if (serverPid !== undefined) resetPeakRss(serverPid);
  resetPeakRss(process.pid);
  const server0 = serverPid !== undefined ? cpuSeconds(serverPid) : 0;
  const client0 = process.cpuUsage();
  const db0 = postgresCpu();
  return {
    stop() {
      const client = process.cpuUsage(client0);
      return {
        serverCpuSeconds: serverPid !== undefined ? cpuSeconds(serverPid) - server0 : 0,
        clientCpuSeconds: (client.user + client.system) / 1e6,
        dbCpuSeconds: postgresCpuSince(db0),
        serverPeakRssMb: serverPid !== undefined ? peakRssMb(serverPid) : 0,
        clientPeakRssMb: peakRssMb(process.pid),
      };
    },
  };
}
