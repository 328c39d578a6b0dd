import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../src/lib/db/database.js';
import { migrate } from '../src/lib/db/migrate.js';
import { probeServices } from './helpers/services.js';

/**
 * Once per run: a migrated embedded-store template (creating PGlite from scratch costs seconds; loading a dump
 * costs ~0.5 s), and a probe of the machine's PostgreSQL/MariaDB/Redis. In CI a missing server fails the run.
 */
export default async function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-template-'));
  const database = await openDatabase({ databaseUrl: undefined, dataDir: dir, inMemory: true });
  await migrate(database);
  const file = path.join(dir, 'template.tar.gz');
  const dump = await database.dump!();
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await database.close();
  project.provide('pgliteTemplate', file);

  const services = await probeServices();
  const missing = Object.entries(services)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  if (missing.length) {
    const line = `flowguard tests: ${missing.join(', ')} not reachable on 127.0.0.1`;
    if (process.env.CI === 'true') throw new Error(`${line}: CI needs every service (see README)`);
    console.warn(
      `\n!!! ${line}: the suites that need them are SKIPPED. Start them to run the full suite. !!!\n`,
    );
  }
  project.provide('services', services);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    services: { postgres: boolean; mariadb: boolean; redis: boolean };
  }
}
