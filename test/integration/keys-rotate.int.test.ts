import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoreCommand } from '../../src/cli/admin-socket.js';
import '../../src/cli/commands/index.js';
import { masterKeyVersion, newDataKey } from '../../src/lib/crypto/index.js';
import { rotateKeys, type RotationReport } from '../../src/modules/keys/index.js';
import { runCli } from '../helpers/cli.js';
import { fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { phoneOf, type Person } from '../helpers/webhook-payloads.js';
import {
  createDeployment,
  deploymentEnv,
  destroyDeployment,
  ingest,
  openApp,
  readSubject,
  snapshotDatabase,
  type Deployment,
  type Snapshot,
} from './shredding.fixtures.js';

/**
 * Master key rotation: processes started with the new key (the old one as FLOWGUARD_MASTER_KEY_PREVIOUS) write
 * new keys under it at once; `keys rotate` re-wraps the rest in batches while webhooks keep arriving, saves its
 * progress per batch, resumes after an interruption, and afterwards the old key is needed for nothing.
 */
describe.each(storeKinds())('master key rotation on %s', (kind) => {
  let dep: Deployment;
  let t: TestApp | undefined;
  const oldKey = crypto.randomBytes(32).toString('base64');
  const newKey = crypto.randomBytes(32).toString('base64');
  const oldVersion = masterKeyVersion(Buffer.from(oldKey, 'base64'));
  const newVersion = masterKeyVersion(Buffer.from(newKey, 'base64'));
  const rotating = { FLOWGUARD_MASTER_KEY: newKey, FLOWGUARD_MASTER_KEY_PREVIOUS: oldKey };
  const people: { p: Person; id: string }[] = [];

  beforeAll(async () => {
    dep = await createDeployment(kind);
    dep.masterKey = oldKey;
  });
  afterAll(async () => {
    await t?.close();
    await destroyDeployment(dep);
  });

  async function stop(): Promise<Snapshot> {
    const snap = await snapshotDatabase(dep, t!);
    await t!.close();
    t = undefined;
    return snap;
  }
  const from = (snap: Snapshot) => (snap.kind === 'pglite' ? snap.blob : undefined);
  async function arrive(n: number) {
    for (let i = 0; i < n; i++) {
      const p = fakePerson();
      people.push({ p, id: await ingest(t!, p) });
    }
  }

  it('re-wraps every key online, resumes after an interruption, and needs the old key no more', async () => {
    t = await openApp(dep);
    await arrive(4);
    // Keys of people not yet heard from again (written straight through the key store port), for batches.
    for (let i = 0; i < 96; i++) {
      const ref = crypto.randomBytes(32).toString('hex');
      await t.ctx.keyStore.put({
        ref,
        tenantId: 'default',
        wrapped: t.ctx.keyring.wrapDataKey(newDataKey(), ref),
        masterVersion: t.ctx.keyring.masterVersion,
      });
    }
    expect(t.ctx.keyring.masterVersion).toBe(oldVersion);
    t = await openApp(dep, { env: rotating, loadDataDir: from(await stop()) });
    expect(t.ctx.keyring.masterVersion).toBe(newVersion);
    expect(await t.ctx.keyStore.countNotAt(newVersion)).toBe(100);

    // New writes use the new version at once.
    await arrive(1);
    expect((await t.ctx.keyStore.get(t.ctx.subjectKeys.ref(people.at(-1)!.id)))!.masterVersion).toBe(
      newVersion,
    );

    // An interrupted run (the CLI wires Ctrl-C to this signal) while webhooks arrive.
    const ac = new AbortController();
    const [first] = await Promise.all([
      rotateKeys(
        { keyStore: t.ctx.keyStore, keyring: t.ctx.keyring },
        { batchSize: 20, signal: ac.signal, onProgress: (p) => p.batches === 3 && ac.abort() },
      ),
      arrive(3),
    ]);
    expect(first).toMatchObject({ status: 'interrupted', rewrapped: 60, rewrappedTotal: 60, remaining: 40 });
    const saved = await t.ctx.keyStore.getRotation();
    expect(saved).toMatchObject({ targetVersion: newVersion, rewrapped: 60, batches: 3, finishedAt: null });
    expect(saved!.cursor).toMatch(/^[0-9a-f]{64}$/);
    expect(await t.ctx.keyStore.countNotAt(newVersion)).toBe(40);

    // Resume through the CLI while webhooks keep arriving.
    let second: RotationReport;
    if (kind === 'postgres') {
      const [res] = await Promise.all([
        runCli(['keys', 'rotate', '--batch-size', '15'], deploymentEnv(dep, rotating)),
        arrive(3),
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/keys rotate: \d+\/100 re-wrapped/);
      expect(res.stderr).toContain('the old one is no longer needed');
      second = JSON.parse(res.stdout) as RotationReport;
    } else {
      const [res] = await Promise.all([runStoreCommand(t.ctx, 'keys.rotate', { batchSize: 15 }), arrive(3)]);
      expect(res.exitCode, res.notes?.join('\n')).toBe(0);
      second = res.output as RotationReport;
    }
    expect(second).toMatchObject({ status: 'completed', resumed: true, rewrapped: 40, rewrappedTotal: 100 });
    expect(second.remaining).toBe(0);
    expect(await t.ctx.keyStore.countNotAt(newVersion)).toBe(0);
    expect((await t.ctx.keyStore.getMaterial()).every((m) => m.masterVersion === newVersion)).toBe(true);

    // The old master key alone opens nothing any more, and nothing needs it.
    const snap = await stop();
    await expect(
      openApp(dep, { env: { FLOWGUARD_MASTER_KEY: oldKey }, loadDataDir: from(snap) }),
    ).rejects.toThrow(/FLOWGUARD_MASTER_KEY_PREVIOUS/);
    t = await openApp(dep, { env: { FLOWGUARD_MASTER_KEY: newKey }, loadDataDir: from(snap) });
    expect(t.ctx.keyring.hasMasterVersion(oldVersion)).toBe(false);
    expect(people).toHaveLength(11);
    for (const { p, id } of people) {
      expect(await readSubject(t, id)).toEqual({ phone: p.e164, name: p.name });
      // Blind indexes did not change with the master key: everyone is found by phone number.
      expect(await t.ctx.subjects.find(t.ctx.database.db, 'default', [phoneOf(p)])).toBe(id);
    }
    // The tenant's sealed app secret still opens (signed webhooks are accepted).
    await arrive(1);
  });
});
