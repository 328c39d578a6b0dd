import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStore, StoredKey } from '../../src/modules/keys/index.js';
import { createSubjectKeys, createSubjectResolver } from '../../src/modules/subjects/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * New subjects' data keys are written to the key store beside the transaction that inserts the subjects
 * (resolveMany): both must end before the commit, a failure of either must fail the transaction, and a failure
 * of one after the other has already failed must not become an unhandled error.
 */
describe.each(storeKinds())('new subjects and their keys on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  /** A resolver whose key store's writes go through `putMany`. */
  const resolverWith = (putMany: (keys: StoredKey[]) => Promise<void>) => {
    const keyStore: KeyStore = { ...t.ctx.keyStore, putMany };
    return createSubjectResolver({
      keyring: t.ctx.keyring,
      keys: createSubjectKeys({ keyring: t.ctx.keyring, keyStore }),
    });
  };
  const asked = (people: ReturnType<typeof fakePerson>[]) =>
    people.map((p) => ({ identities: [{ kind: 'phone' as const, value: p.e164 }], profileName: p.name }));
  const findPhone = async (e164: string) => {
    const tenant = await t.ctx.tenants.getDefault();
    return t.ctx.database.db
      .transaction()
      .execute((tx) => t.ctx.subjects.find(tx, tenant.id, [{ kind: 'phone', value: e164 }]));
  };

  it('commits new subjects only once their keys are stored, readable by any other instance', async () => {
    const tenant = await t.ctx.tenants.getDefault();
    let written = 0;
    const resolver = resolverWith(async (keys) => {
      await delay(30);
      await t.ctx.keyStore.putMany(keys);
      written += keys.length;
    });
    const people = [fakePerson(), fakePerson(), fakePerson()];
    const made = await t.ctx.database.db.transaction().execute(async (tx) => {
      const out = await resolver.resolveMany(tx, tenant.id, asked(people));
      expect(written).toBe(3);
      return out;
    });
    expect(made.map((s) => s.created)).toEqual([true, true, true]);
    // The app's own key cache has never seen these keys: it reads them from the key store.
    const ciphers = await t.ctx.subjectKeys.ciphers(
      t.ctx.database.db,
      made.map((s) => s.id),
    );
    expect([...ciphers.keys()].sort()).toEqual(made.map((s) => s.id).sort());
    const profile = await t.ctx.database.db
      .selectFrom('subjects')
      .select(['id', 'profile_name'])
      .where('id', '=', made[0]!.id)
      .executeTakeFirstOrThrow();
    expect(
      ciphers.get(made[0]!.id)!.decrypt(profile.profile_name!, 'subjects', 'profile_name', profile.id),
    ).toBe(people[0]!.name);
  });

  it('creates no subject when the key store fails, even when it fails after the insert went in', async () => {
    const tenant = await t.ctx.tenants.getDefault();
    const people = [fakePerson(), fakePerson()];
    const resolver = resolverWith(async () => {
      await delay(30);
      throw new Error('key store unavailable');
    });
    await expect(
      t.ctx.database.db.transaction().execute((tx) => resolver.resolveMany(tx, tenant.id, asked(people))),
    ).rejects.toThrow('key store unavailable');
    for (const p of people) expect(await findPhone(p.e164)).toBeUndefined();
  });

  it('fails with the insert, and leaves no unhandled error, when the keys fail later still', async () => {
    const people = [fakePerson()];
    let failed = false;
    const resolver = resolverWith(async () => {
      await delay(50);
      failed = true;
      throw new Error('key store unavailable');
    });
    // No such tenant: the subjects' insert fails on its foreign key while the key write is still under way.
    await expect(
      t.ctx.database.db
        .transaction()
        .execute((tx) => resolver.resolveMany(tx, 'no-such-tenant', asked(people))),
    ).rejects.toThrow(/foreign key/);
    expect(failed).toBe(false);
    await delay(100);
    expect(failed).toBe(true);
    expect(await findPhone(people[0]!.e164)).toBeUndefined();
  });
});
