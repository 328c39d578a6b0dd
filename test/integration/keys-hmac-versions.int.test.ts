import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailAad, emailIndex } from '../../src/modules/admin/admin-email.js';
import { findAdminIdByEmail } from '../../src/modules/admin/users/reset-admin-mfa.js';
import { runRetention } from '../../src/modules/retention/index.js';
import { fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  phoneOf,
  postWebhook,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';
import { cliFor } from './requests.fixtures.js';
import {
  createDeployment,
  destroyDeployment,
  eraseFromWhatsApp,
  ingest,
  openApp,
  type Deployment,
} from './shredding.fixtures.js';

/**
 * HMAC key versions: `keys new-hmac-version` starts a new blind-index (or audit) key while webhooks keep
 * arriving; people known under the old version are still found (no duplicate subject), an erasure finds rows
 * of both versions, `keys reindex-hmac` moves the old rows online, and `keys retire-hmac-version` refuses
 * while anything uses the old key and destroys it afterwards. The audit chain verifies across versions.
 */
describe.each(storeKinds())('HMAC key versions on %s', (kind) => {
  let dep: Deployment;
  let t: TestApp;
  let cli: Awaited<ReturnType<typeof cliFor>>;
  beforeAll(async () => {
    dep = await createDeployment(kind);
    t = await openApp(dep);
    cli = await cliFor(t, dep.keyStoreUrl ? { FLOWGUARD_KEYSTORE_URL: dep.keyStoreUrl } : {});
  });
  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await destroyDeployment(dep);
  });
  const db = () => t.ctx.database.db;
  const find = (who: Parameters<typeof phoneOf>[0]) => t.ctx.subjects.find(db(), 'default', [phoneOf(who)]);
  const subjects = async () => (await db().selectFrom('subjects').select('id').execute()).length;
  const json = (out: { stdout: string }) => JSON.parse(out.stdout) as Record<string, unknown>;
  /** `keys new-hmac-version` of a purpose, active at once (`extra`: more options). */
  const newVersion = (purpose: string, ...extra: string[]) =>
    cli.run('keys', 'new-hmac-version', '--purpose', purpose, '--activate-in', '0', ...extra);
  const retireVersion = (purpose: string, version: string) =>
    cli.run('keys', 'retire-hmac-version', '--purpose', purpose, '--version', version);
  /** A CLI process with a PostgreSQL key store is another instance: this one re-reads the keys (restart). */
  async function pickUpKeys() {
    if (kind !== 'postgres') return;
    await t.close();
    t = await openApp(dep);
  }
  const say = async (p: Person, text: string, ids = { phone: true, bsuid: false }) => {
    const res = await postWebhook(
      t,
      delivery({ contacts: [contact(p, ids)], messages: [textMessage(p, text)] }),
    );
    expect(res.statusCode).toBe(200);
  };

  it('starts a blind-index version, keeps everyone found, re-indexes online and retires the old key', async () => {
    const a = fakePerson();
    const aId = await ingest(t, a);
    await say(a, 'STOP');
    const d = fakePerson();
    const dId = await ingest(t, d);
    const adminId = crypto.randomUUID();
    const email = `ops-${crypto.randomBytes(3).toString('hex')}@example.com`;
    await db()
      .insertInto('admin_users')
      .values({
        id: adminId,
        tenant_id: null,
        email_index: emailIndex(t.ctx.keyring, email),
        email: t.ctx.keyring.sealSecret(email, emailAad(adminId)),
        role: 'operator',
        password_hash: 'x',
        totp_secret: 'v1.sealed',
      })
      .execute();
    const before = await subjects();

    const started = await newVersion('blind-index', '--no-reindex');
    expect(started.code, started.stderr).toBe(0);
    expect(json(started)).toMatchObject({ purpose: 'blind-index', version: 'b2', held: ['b2', 'b1'] });
    await pickUpKeys();
    expect(t.ctx.keyring.hmacVersion('blind-index')).toBe('b2');

    // Both write again, D now with its BSUID; B is new: one subject each, new identities under b2.
    await say(a, 'again');
    await say(d, 'again', { phone: true, bsuid: true });
    const b = fakePerson();
    const bId = await ingest(t, b);
    expect(await find(a)).toBe(aId);
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(d)])).toBe(dId);
    expect(await subjects()).toBe(before + 1);
    const versions = await db()
      .selectFrom('identities')
      .select(['subject_id', 'kind', 'blind_index_version', 'blind_index'])
      .where('subject_id', 'in', [dId, bId])
      .orderBy('subject_id')
      .orderBy('kind')
      .execute();
    expect(
      versions.map((v) => `${v.subject_id === dId ? 'd' : 'b'}:${v.kind}:${v.blind_index_version}`).sort(),
    ).toEqual(['b:phone:b2', 'd:bsuid:b2', 'd:phone:b1']);
    expect(versions.find((v) => v.blind_index_version === 'b2')!.blind_index).toMatch(/^b2\.[0-9a-f]{64}$/);

    // The old key cannot go while rows use it.
    const early = await retireVersion('blind-index', 'b1');
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/b1 is still used: \d+ identities, 1 admin_users; run keys reindex-hmac/);
    // Staff not yet re-indexed are still found by their e-mail (sign-in, `admin reset-mfa`).
    expect(await findAdminIdByEmail(db(), t.ctx.keyring, email)).toBe(adminId);

    // D erases itself, asking by its phone (b1): every row of both versions goes.
    await eraseFromWhatsApp(t, d);
    expect(await db().selectFrom('identities').select('id').where('subject_id', '=', dId).execute()).toEqual(
      [],
    );
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(d)])).toBeUndefined();

    // Re-index in batches of one while webhooks keep arriving.
    const newcomers = [fakePerson(), fakePerson()];
    const [reindexed] = await Promise.all([
      cli.run('keys', 'reindex-hmac', '--purpose', 'blind-index', '--batch-size', '1'),
      (async () => {
        for (const p of newcomers) await ingest(t, p);
        await say(a, 'still here');
      })(),
    ]);
    expect(reindexed.code, reindexed.stderr).toBe(0);
    const report = json(reindexed).reindex as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'completed',
      version: 'b2',
      moved: { identities: 1, suppressions: 1, admin_users: 1 },
      remaining: {
        b1: {
          blocking: { identities: 0, admin_users: 0 },
          unindexable: { suppressions: 0, erased_identities: 0 },
        },
      },
    });
    // A's STOP moved with its identity.
    const suppressed = await db().selectFrom('suppressions').select('blind_index').execute();
    expect(suppressed.map((s) => s.blind_index)).toContain(
      t.ctx.keyring.hmac('blind-index', `default\u0000phone\u0000${a.e164}`),
    );
    expect(suppressed.every((s) => s.blind_index.startsWith('b2.'))).toBe(true);

    const retired = await retireVersion('blind-index', 'b1');
    expect(retired.code, retired.stderr).toBe(0);
    await pickUpKeys();
    expect(t.ctx.keyring.hmacVersions('blind-index').map((v) => v.version)).toEqual(['b2']);
    const stored = await t.ctx.keyStore.getMaterial();
    expect(stored.filter((m) => m.purpose === 'blind-index').map((m) => m.version)).toEqual(['b2']);

    // Without the old key everyone is still the same person, and still opted out; staff e-mail still found.
    expect(await ingest(t, a)).toBe(aId);
    expect(await ingest(t, b)).toBe(bId);
    for (const p of newcomers) expect(await find(p)).toBeDefined();
    expect(await subjects()).toBe(before + 2);
    const optedOut = await db()
      .selectFrom('subjects')
      .select('marketing_opt_out')
      .where('id', '=', aId)
      .execute();
    expect(optedOut).toEqual([{ marketing_opt_out: true }]);
    const admin = await db()
      .selectFrom('admin_users')
      .select('email_index')
      .where('id', '=', adminId)
      .execute();
    expect(admin).toEqual([{ email_index: emailIndex(t.ctx.keyring, email) }]);
  });

  it('starts an audit key version: the chain verifies across versions and the old key can be retired', async () => {
    const started = await newVersion('audit-subject');
    expect(started.code, started.stderr).toBe(0);
    expect(json(started)).toMatchObject({
      started: { version: 'a2' },
      reindex: { status: 'completed', version: 'a2' },
    });
    await pickUpKeys();
    const p = fakePerson();
    await ingest(t, p);
    await eraseFromWhatsApp(t, p);
    const refs = await sql<{ key_version: string; n: string }>`select key_version, count(*)::text as n
      from audit_log where subject_ref is not null group by key_version order by key_version`.execute(db());
    expect(refs.rows.map((r) => r.key_version)).toEqual(['a1', 'a2']);
    const a2 = await db()
      .selectFrom('audit_log')
      .select('subject_ref')
      .where('key_version', '=', 'a2')
      .where('subject_ref', 'is not', null)
      .execute();
    expect(a2.every((r) => /^a2\.[0-9a-f]{64}$/.test(r.subject_ref!))).toBe(true);

    const retired = await retireVersion('audit-subject', 'a1');
    expect(retired.code, retired.stderr).toBe(0);
    expect(json(retired)).toMatchObject({
      version: 'a1',
      anonymised: { audit_log: Number(refs.rows[0]!.n) },
    });
    const verified = await cli.run('audit', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(json(verified)).toMatchObject({ ok: true });
  });

  it('starts an event-id version: a delivery seen before is still a duplicate; the old key goes with retention', async () => {
    const p = fakePerson();
    const envelope = delivery({ contacts: [contact(p)], messages: [textMessage(p, 'once')] });
    expect((await postWebhook(t, envelope)).statusCode).toBe(200);
    const started = await newVersion('event-id');
    expect(started.code, started.stderr).toBe(0);
    await pickUpKeys();
    // Meta delivers the same envelope again: nothing new is stored.
    expect((await postWebhook(t, envelope)).statusCode).toBe(200);
    const id = await find(p);
    const messages = await db().selectFrom('messages').select('id').where('subject_id', '=', id!).execute();
    expect(messages).toHaveLength(1);

    const early = await retireVersion('event-id', 'e1');
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/e1 is still used: \d+ processed_events/);
    // Once de-duplication ids under e1 are past their retention (7 days), nothing needs it.
    await runRetention({ ...t.ctx, clock: () => new Date(Date.now() + 8 * 86_400_000) });
    const retired = await retireVersion('event-id', 'e1');
    expect(retired.code, retired.stderr).toBe(0);
  });
});
