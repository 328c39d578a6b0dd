import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/config.js';
import { hashToken } from '../../src/lib/crypto/index.js';
import { createLogger } from '../../src/lib/log.js';
import {
  authenticateApiKey,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from '../../src/modules/apikeys/index.js';
import { createFlowTokens } from '../../src/modules/flows/index.js';
import { runCli } from '../helpers/cli.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';

describe.each(storeKinds())('API keys on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('creates a key shown once, stores only its hash and prefix, and authenticates it', async () => {
    const db = t.ctx.database.db;
    const created = await createApiKey(db, { tenantId: 'default', name: 'crm sync' });
    expect(created.key).toMatch(/^fg_live_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(`fg_live_${created.prefix}_`)).toBe(true);
    expect(created.role).toBe('service');
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(hashToken(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(`fg_live_${created.prefix}_`.length));
    const principal = await authenticateApiKey({ db, clock: t.ctx.clock }, created.key);
    expect(principal).toEqual({ keyId: created.id, tenantId: 'default', role: 'service' });

    const listed = await listApiKeys(db);
    expect(listed.find((k) => k.id === created.id)).toMatchObject({
      name: 'crm sync',
      prefix: created.prefix,
      tenant: 'default',
      revoked_at: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(JSON.stringify(listed)).not.toContain(row.key_hash);
  });

  it('refuses unknown, malformed, tampered and revoked keys as UNAUTHENTICATED', async () => {
    const db = t.ctx.database.db;
    const deps = { db, clock: t.ctx.clock };
    const created = await createApiKey(db, { tenantId: 'default', name: 'short lived', role: 'admin' });
    expect((await authenticateApiKey(deps, created.key)).role).toBe('admin');
    const otherPrefix = created.key.replace(/^fg_live_[0-9a-f]{8}/, 'fg_live_00000000');
    for (const bad of [
      '',
      'fg_live_',
      created.key.slice(0, -1),
      `${created.key}A`,
      otherPrefix,
      'x'.repeat(5000),
    ]) {
      await expect(authenticateApiKey(deps, bad)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    const revoked = await revokeApiKey(deps, created.id);
    expect(revoked.id).toBe(created.id);
    await expect(authenticateApiKey(deps, created.key)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(revokeApiKey(deps, crypto.randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(createApiKey(db, { tenantId: 'nobody', name: 'x' })).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
    await expect(createApiKey(db, { tenantId: 'default', name: 'x', role: 'root' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('writes last_used_at at most once a minute', async () => {
    const db = t.ctx.database.db;
    const created = await createApiKey(db, { tenantId: 'default', name: 'busy' });
    const t0 = new Date('2030-01-01T00:00:00Z');
    const lastUsed = async () =>
      (
        await db
          .selectFrom('api_keys')
          .select('last_used_at')
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    const at = (ms: number) =>
      authenticateApiKey({ db, clock: () => new Date(t0.getTime() + ms) }, created.key);
    expect(await lastUsed()).toBeNull();
    await at(0);
    expect(await lastUsed()).toEqual(t0);
    await at(59_000);
    expect(await lastUsed()).toEqual(t0);
    await at(61_000);
    expect(await lastUsed()).toEqual(new Date(t0.getTime() + 61_000));
  });

  it('CLI: apikey create/list/revoke and flow-token work against the store', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-apikey-cli-'));
    const pg = kind === 'postgres' ? await createPgDatabase() : undefined;
    const env = {
      FLOWGUARD_DATA_DIR: path.join(dir, 'data'),
      FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      DATABASE_URL: pg?.url,
      FLOWGUARD_LOG_LEVEL: 'error',
    };
    try {
      const create = await runCli(['apikey', 'create', '--name', 'billing'], env, { cwd: dir });
      expect(create.code).toBe(0);
      const out = JSON.parse(create.stdout) as { id: string; key: string; tenant: string; role: string };
      expect(out).toMatchObject({
        tenant: 'default',
        role: 'service',
        key: expect.stringMatching(/^fg_live_/),
      });
      expect(create.stderr).toContain('shown once');

      const list = await runCli(['apikey', 'list'], env, { cwd: dir });
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toMatchObject([{ id: out.id, name: 'billing', role: 'service' }]);
      expect(list.stdout).not.toContain(out.key);

      const p = fakePerson();
      const issued = await runCli(['flow-token', '--phone', p.e164], env, { cwd: dir });
      expect(issued.code).toBe(0);
      const token = JSON.parse(issued.stdout) as { flow_token: string; expires_at: string };
      expect(token.flow_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(token.expires_at)).toBeGreaterThan(Date.now());

      expect((await runCli(['flow-token'], env, { cwd: dir })).code).toBe(2);
      const badPhone = await runCli(['flow-token', '--phone', 'nope'], env, { cwd: dir });
      expect(badPhone.code).toBe(1);
      expect(badPhone.stderr).toContain('E.164');

      // What the CLI wrote is what the service accepts.
      const ctx = await createContext(loadConfig(env, dir), { logger: createLogger('silent') });
      try {
        const principal = await authenticateApiKey({ db: ctx.database.db, clock: ctx.clock }, out.key);
        expect(principal.tenantId).toBe('default');
        const flowTokens = createFlowTokens({
          db: ctx.database.db,
          subjects: ctx.subjects,
          clock: ctx.clock,
          ttlSeconds: 60,
        });
        expect((await flowTokens.verify('default', token.flow_token)).purpose).toBe('privacy_center');
      } finally {
        await ctx.close();
      }

      expect((await runCli(['apikey', 'revoke', out.id], env, { cwd: dir })).code).toBe(0);
      const after = JSON.parse((await runCli(['apikey', 'list'], env, { cwd: dir })).stdout) as {
        revoked_at: string | null;
      }[];
      expect(after[0]?.revoked_at).not.toBeNull();
    } finally {
      await pg?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
