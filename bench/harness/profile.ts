import fs from 'node:fs';
import path from 'node:path';

/**
 * Reads a V8 .cpuprofile (node --cpu-prof) of the server and says where its CPU went: self time grouped by
 * package or flowguard source file, and the hottest functions. Idle time is left out of the shares.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  byModule: ProfileShare[];
  byFunction: ProfileShare[];
}

function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `flowguard ${url.slice(dist + 1).replace(/\.js$/, '')}`;
  return url;
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!node || node.callFrame.functionName === '(idle)') return;
    busy += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    const fnName = `${functionName || '(anonymous)'} ${mod}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(fnName, (functions.get(fnName) ?? 0) + dt);
  });
  const shares = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, percent: Math.round((ms / Math.max(busy, 1)) * 1000) / 10 }));
  return { busyMs: Math.round(busy), byModule: shares(modules), byFunction: shares(functions) };
}

/**
 * The newest profile of a process's main thread: Node writes one per thread (`CPU.<date>.<time>.<pid>.<thread
 * id>.<seq>.cpuprofile`), and the Flows endpoint's RSA worker threads have their own.
 */
export function newestProfile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0];
}

/** One-line summaries of a profile for the report. */
export function profileNotes(what: string, s: ProfileSummary): string[] {
  return [
    `Server CPU profile, ${what} (self time of the whole process, start-up included, idle excluded): by module ${s.byModule
      .map((m) => `${m.name} ${m.percent}%`)
      .join(', ')}.`,
    `Hottest functions (${what}): ${s.byFunction
      .slice(0, 8)
      .map((m) => `${m.name} ${m.percent}%`)
      .join('; ')}.`,
  ];
}
