import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/lib/crypto/index.js';
import { openDatabase, type Database } from '../../src/lib/db/database.js';
import { appendAudit } from '../../src/modules/audit/index.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase, storeKinds } from '../helpers/test-app.js';

describe.each(storeKinds())('flowguard audit verify on %s', (kind) => {
  const masterKey = crypto.randomBytes(32);
  let dir: string;
  let env: Record<string, string>;
  let drop: (() => Promise<void>) | undefined;
  /** The store as the CLI sees it; opened only between CLI runs (the embedded store takes one process at a time). */
  const withStore = async <T>(fn: (database: Database) => Promise<T>): Promise<T> => {
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.FLOWGUARD_DATA_DIR! });
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  };
  const verify = async (...args: string[]) => {
    const r = await runCli(['audit', 'verify', ...args], env, { cwd: dir });
    return { ...r, json: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-audit-cli-'));
    env = { FLOWGUARD_DATA_DIR: path.join(dir, 'data'), FLOWGUARD_MASTER_KEY: masterKey.toString('base64') };
    if (kind === 'postgres') {
      const pg = await createPgDatabase();
      env.DATABASE_URL = pg.url;
      drop = pg.drop;
    }
  });
  afterAll(async () => {
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 with the row count while the chain is intact, then 3 naming the first bad seq', async () => {
    const empty = await verify();
    expect(empty.stderr).toBe('');
    expect(empty.code).toBe(0);
    expect(empty.json).toEqual({ ok: true, rows: 0 });

    const keyring = createKeyring(masterKey);
    const seqs = await withStore((database) =>
      database.db.transaction().execute(async (tx) => {
        const out: number[] = [];
        for (let i = 0; i < 5; i++) {
          const e = await appendAudit(tx, keyring, {
            type: 'erasure.system',
            tenantId: 'default',
            actor: { type: 'system', id: 'dsr' },
            requestId: crypto.randomUUID(),
            data: { system_id: 'crm', action: 'deleted', rows: i },
          });
          out.push(e.seq);
        }
        return out;
      }),
    );
    const intact = await verify();
    expect(intact.code).toBe(0);
    expect(intact.json).toEqual({ ok: true, rows: 5 });

    const victim = seqs[2]!;
    await withStore(async ({ db }) => {
      await sql`alter table audit_log disable trigger user`.execute(db);
      await sql`update audit_log set data = jsonb_set(data, '{rows}', '0') where seq = ${victim}`.execute(db);
      await sql`alter table audit_log enable trigger user`.execute(db);
    });
    const broken = await verify();
    expect(broken.code).toBe(3);
    expect(broken.json).toEqual({ ok: false, first_bad_seq: victim, reason: 'hash_mismatch' });
    expect(broken.stderr).toContain(`seq ${victim}`);

    const after = await verify('--from-seq', String(seqs[3]));
    expect(after.code).toBe(0);
    expect(after.json).toEqual({ ok: true, rows: 2 });
    const bad = await verify('--from-seq', 'two');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from-seq');
  });
});
