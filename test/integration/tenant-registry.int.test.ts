import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantRegistry } from '../../src/modules/tenants/tenant-registry.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * The tenant registry inside a transaction: on the embedded store a transaction holds the only session, so a
 * lookup that waited for a reload of stale tenants would never return (a request carried out in a transaction
 * reads its tenant's settings). A stale registry answers from memory and reloads once the session is free.
 */
describe.each(storeKinds())('tenant registry on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('answers a lookup inside a transaction when its tenants are stale, and reloads after it', async () => {
    const registry = createTenantRegistry({ db: t.ctx.database.db, keyring: t.ctx.keyring, refreshMs: 0 });
    expect((await registry.get('default')).name).toBeTruthy();
    const renamed = `Renamed ${Date.now()}`;
    const inside = await t.ctx.database.db.transaction().execute(async (tx) => {
      await tx.updateTable('tenants').set({ name: renamed }).where('id', '=', 'default').execute();
      await new Promise((r) => setTimeout(r, 5));
      const timeout = new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), 5_000));
      return Promise.race([registry.get('default').then((x) => x.name), timeout]);
    });
    expect(inside).not.toBe('timed out');
    await expect.poll(async () => (await registry.get('default')).name, { timeout: 5_000 }).toBe(renamed);
  });
});
