import path from 'node:path';
import { newestProfile, profileNotes, summarizeProfile } from './profile.js';
import { startServer, type ServerProcess } from './server.js';
import type { BenchStore } from './store.js';

/**
 * Run `load` against a server started with --cpu-prof (not a measured run: the profiler slows the server down)
 * and return the profile's summary lines for the report.
 */
export async function profiledRun(
  store: BenchStore,
  what: string,
  load: (server: ServerProcess) => Promise<unknown>,
): Promise<string[]> {
  const dir = path.join(store.dir, `profile-${Date.now()}`);
  const server = await startServer(store, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    await load(server);
  } finally {
    await server.stop();
  }
  const file = newestProfile(dir);
  return file ? profileNotes(what, summarizeProfile(file, 10)) : [`no CPU profile was written for ${what}`];
}
