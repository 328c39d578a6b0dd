import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { sql } from 'kysely';
import type { TestApp } from './test-app.js';

/**
 * Every byte of a test app's store, as a backup would hold it: `pg_dump` of the PostgreSQL database, or the
 * embedded store's data dir (PGlite's dump, after a checkpoint so the WAL is written out).
 */
export async function dumpStore(t: TestApp): Promise<Buffer> {
  if (t.kind === 'postgres') {
    return execFileSync('/usr/bin/pg_dump', ['--no-owner', t.databaseUrl!], { maxBuffer: 256 * 1024 * 1024 });
  }
  await sql`checkpoint`.execute(t.ctx.database.db);
  const blob = await t.ctx.database.dump!();
  return zlib.gunzipSync(Buffer.from(await blob.arrayBuffer()));
}
