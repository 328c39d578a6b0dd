import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoreCommand } from '../../src/cli/admin-socket.js';
import '../../src/cli/commands/index.js';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { pendingShreds, shredPendingKeys } from '../../src/modules/keys/index.js';
import { runCli } from '../helpers/cli.js';
import { fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { phoneOf } from '../helpers/webhook-payloads.js';
import {
  createDeployment,
  deploymentEnv,
  destroyDeployment,
  eraseFromWhatsApp,
  ingest,
  openApp,
  readSubject,
  restoreSnapshot,
  snapshotDatabase,
  type Deployment,
} from './shredding.fixtures.js';

/**
 * Crypto-shredding against a restored backup: a database snapshot taken before an erasure, restored into a new
 * database and opened with the same key store, cannot show the erased person (their key is gone with the
 * erasure), and `restore-replay` deletes their rows again from the key store's journal, which the restore did
 * not touch.
 */
describe.each(storeKinds())('restore of a database backup on %s', (kind) => {
  let dep: Deployment;
  let t: TestApp | undefined;
  const people = [fakePerson(), fakePerson(), fakePerson()];
  const ids: string[] = [];

  beforeAll(async () => {
    dep = await createDeployment(kind);
  });
  afterAll(async () => {
    await t?.close();
    await destroyDeployment(dep);
  });

  it('leaves an erased person unreadable in a restored backup, and restore-replay deletes them again', async () => {
    t = await openApp(dep);
    for (const p of people) ids.push(await ingest(t, p));
    const snapshot = await snapshotDatabase(dep, t);

    const erased = ids[1]!;
    await eraseFromWhatsApp(t, people[1]!);
    expect(await readSubject(t, erased)).toBe('absent');
    // Right after the commit the journal holds the subject; the shred job then deletes its key.
    expect(await pendingShreds(t.ctx.database.db)).toBe(1);
    const ref = t.ctx.subjectKeys.ref(erased);
    expect(await t.ctx.keyStore.get(ref)).toBeDefined();
    await shredPendingKeys({ db: t.ctx.database.db, keyring: t.ctx.keyring, keyStore: t.ctx.keyStore });
    expect(await t.ctx.keyStore.get(ref)).toBeUndefined();
    expect(await t.ctx.keyStore.journaled([ref])).toEqual(new Set([ref]));
    await t.close();
    t = undefined;

    // Restore the snapshot into a new database; the key store is the live one.
    const restored = await restoreSnapshot(dep, snapshot);
    t = await openApp(dep, restored);
    const db = t.ctx.database.db;
    expect(
      await db.selectFrom('subjects').select('id').where('id', '=', erased).executeTakeFirst(),
    ).toBeDefined();
    expect(await readSubject(t, erased)).toBe('no_key');
    expect(await readSubject(t, ids[0]!)).toEqual({ phone: people[0]!.e164, name: people[0]!.name });
    expect(await readSubject(t, ids[2]!)).toEqual({ phone: people[2]!.e164, name: people[2]!.name });

    // Replay the key store's erasure journal.
    let report: Record<string, unknown>;
    if (kind === 'postgres') {
      await t.close();
      t = undefined;
      const dry = await runCli(['restore-replay', '--dry-run'], deploymentEnv(dep));
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, erased: 1, scanned: 3 });
      const res = await runCli(['restore-replay'], deploymentEnv(dep));
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain('1 of 3 subjects erased again');
      report = JSON.parse(res.stdout) as Record<string, unknown>;
      t = await openApp(dep);
    } else {
      const res = await runStoreCommand(t.ctx, 'restore.replay', {});
      expect(res.exitCode, res.notes?.join('\n')).toBe(0);
      report = res.output as Record<string, unknown>;
    }
    expect(report).toMatchObject({ scanned: 3, erased: 1, missingKeys: 0, tenants: { default: 1 } });
    expect(JSON.stringify(report)).not.toContain(people[1]!.waId);

    const after = t.ctx.database.db;
    expect(await readSubject(t, erased)).toBe('absent');
    for (const table of ['identities', 'messages'] as const) {
      const rows = await after.selectFrom(table).select('id').where('subject_id', '=', erased).execute();
      expect(rows, table).toEqual([]);
    }
    expect(await t.ctx.subjects.find(after, 'default', [phoneOf(people[1]!)])).toBeUndefined();
    expect(await readSubject(t, ids[0]!)).toEqual({ phone: people[0]!.e164, name: people[0]!.name });
    const events = await after
      .selectFrom('audit_log')
      .select(['event_type', 'data'])
      .where('event_type', '=', 'erasure.replayed')
      .execute();
    expect(events).toEqual([
      { event_type: 'erasure.replayed', data: { subjects: 1, requests_closed: 0, notifications_dropped: 0 } },
    ]);
    expect((await verifyAuditChain(after)).ok).toBe(true);

    // A second replay finds nothing left to do, and the erased person stays gone after a restart.
    const again = await runStoreCommand(t.ctx, 'restore.replay', {});
    expect(again.output).toMatchObject({ scanned: 2, erased: 0 });
  });
});
