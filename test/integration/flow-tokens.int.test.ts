import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.js';
import { createApiKey, revokeApiKey } from '../../src/modules/apikeys/index.js';
import { createFlowTokens } from '../../src/modules/flows/index.js';
import { blindIndex } from '../../src/modules/subjects/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

describe.each(storeKinds())('flow tokens and POST /v1/flow-tokens on %s', (kind) => {
  let t: TestApp;
  let key: string;
  let acmeKey: string;
  beforeAll(async () => {
    t = await createTestApp(kind);
    const db = t.ctx.database.db;
    await addTenant(
      { db, keyring: t.ctx.keyring },
      { id: 'acme', phoneNumberId: '200000000000002', appSecret: 'acme-app-secret-0123' },
    );
    await t.ctx.tenants.reload();
    key = (await createApiKey(db, { tenantId: 'default', name: 'backend' })).key;
    acmeKey = (await createApiKey(db, { tenantId: 'acme', name: 'acme backend' })).key;
  });
  afterAll(async () => t?.close());

  const post = (payload: unknown, auth?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/flow-tokens',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  function tokens(clock: () => Date = t.ctx.clock) {
    return createFlowTokens({ db: t.ctx.database.db, subjects: t.ctx.subjects, clock, ttlSeconds: 600 });
  }

  it('issues a token bound to the subject known by that phone, for the key’s tenant only', async () => {
    const p = fakePerson();
    const res = await post({ phone: p.e164 }, `Bearer ${key}`);
    expect(res.statusCode).toBe(201);
    const body = res.json<{ flow_token: string; expires_at: string }>();
    expect(body.flow_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = new Date(body.expires_at).getTime() - Date.now();
    expect(ttl).toBeGreaterThan((t.ctx.config.flowTokenTtlSeconds - 60) * 1000);
    expect(ttl).toBeLessThanOrEqual(t.ctx.config.flowTokenTtlSeconds * 1000);

    const verified = await tokens().verify('default', body.flow_token);
    expect(verified.purpose).toBe('privacy_center');
    const identity = await t.ctx.database.db
      .selectFrom('identities')
      .select('subject_id')
      .where('blind_index', '=', blindIndex(t.ctx.keyring, 'default', { kind: 'phone', value: p.e164 }))
      .executeTakeFirstOrThrow();
    expect(verified.subjectId).toBe(identity.subject_id);

    // Stored hashed: the token itself is nowhere in the table.
    const rows = await t.ctx.database.db.selectFrom('flow_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(body.flow_token);

    // The same person again: same subject, new token. A BSUID works too.
    const again = await post({ phone: p.waId }, `Bearer ${key}`);
    const second = await tokens().verify('default', again.json<{ flow_token: string }>().flow_token);
    expect(second.subjectId).toBe(verified.subjectId);
    expect(second.tokenId).not.toBe(verified.tokenId);
    expect((await post({ user_id: p.bsuid }, `Bearer ${key}`)).statusCode).toBe(201);

    // acme's key issues acme tokens, which the default tenant does not accept.
    const acme = (await post({ phone: p.e164 }, `Bearer ${acmeKey}`)).json<{ flow_token: string }>();
    const acmeVerified = await tokens().verify('acme', acme.flow_token);
    expect(acmeVerified.subjectId).not.toBe(verified.subjectId);
    await expect(tokens().verify('default', acme.flow_token)).rejects.toMatchObject({
      code: 'FLOW_TOKEN_INVALID',
      details: { reason: 'unknown' },
    });
    expect(t.logs.text()).not.toContain(p.waId);
  });

  it('refuses requests without a valid API key with 401 and WWW-Authenticate: Bearer', async () => {
    const p = fakePerson();
    const forged = `fg_live_${'0'.repeat(8)}_${crypto.randomBytes(32).toString('base64url')}`;
    for (const auth of [undefined, 'Basic abc', 'Bearer', `Bearer ${forged}`, `Bearer ${key}x`, key]) {
      const res = await post({ phone: p.e164 }, auth);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
    const revocable = await createApiKey(t.ctx.database.db, { tenantId: 'default', name: 'to revoke' });
    expect((await post({ phone: p.e164 }, `bearer ${revocable.key}`)).statusCode).toBe(201);
    await revokeApiKey({ db: t.ctx.database.db, clock: t.ctx.clock }, revocable.id);
    const refused = await post({ phone: p.e164 }, `Bearer ${revocable.key}`);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('answers 400 with a clear message that does not repeat the identity', async () => {
    const auth = `Bearer ${key}`;
    const cases: [unknown, RegExp][] = [
      [{ phone: '+1 555' }, /E\.164/],
      [{ phone: 'call me maybe 5550100' }, /E\.164/],
      [{ phone: 15550100 }, /E\.164/],
      [{ user_id: 'not-a-bsuid-5550100' }, /business-scoped user id/],
      [{ phone: '+15550100123', user_id: 'US.abc' }, /not both/],
      [{}, /phone or user_id is required/],
      [[1, 2], /JSON object/],
      ['{"phone":', /JSON/],
    ];
    for (const [payload, message] of cases) {
      const res = await post(payload, auth);
      expect(res.statusCode).toBe(400);
      const text = res.body;
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(message);
      expect(text).not.toMatch(/555|not-a-bsuid|maybe/);
    }
  });

  it('verifies, expires and consumes tokens', async () => {
    let now = new Date();
    const clock = () => now;
    const p = fakePerson();
    const issued = await t.ctx.database.db
      .transaction()
      .execute((tx) =>
        tokens(clock).issue(tx, 'default', { kind: 'phone', value: p.e164 }, 'privacy_center', 60),
      );
    expect(issued.expiresAt.getTime()).toBe(now.getTime() + 60_000);
    expect(await tokens(clock).verify('default', issued.token)).toEqual({
      tokenId: issued.tokenId,
      subjectId: issued.subjectId,
      purpose: 'privacy_center',
    });
    const reason = async (token: unknown, tenant = 'default') => {
      try {
        await tokens(clock).verify(tenant, token);
        return 'valid';
      } catch (err) {
        if (!isAppError(err, 'FLOW_TOKEN_INVALID')) throw err;
        expect(err.status).toBe(427);
        return err.details.reason;
      }
    };
    expect(await reason(issued.token, 'acme')).toBe('unknown');
    expect(await reason('x'.repeat(500))).toBe('unknown');
    expect(await reason({ token: issued.token })).toBe('unknown');
    now = new Date(now.getTime() + 60_000);
    expect(await reason(issued.token)).toBe('expired');
    now = new Date(now.getTime() - 30_000);
    expect(await reason(issued.token)).toBe('valid');
    await tokens(clock).consume(t.ctx.database.db, issued.tokenId);
    expect(await reason(issued.token)).toBe('used');
    await expect(
      t.ctx.database.db
        .transaction()
        .execute((tx) =>
          tokens(clock).issue(tx, 'default', { kind: 'phone', value: p.e164 }, 'Bad Purpose!'),
        ),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('publishes an OpenAPI 3.1 document and an HTML page that describe only served routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
    }>();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/v1/flow-tokens',
      '/flows/endpoint',
      '/flows/endpoint/{tenantId}',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(doc.paths['/v1/flow-tokens']?.post).toMatchObject({ security: [{ apiKey: [] }] });
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        expect(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path}`).toBe(
          true,
        );
      }
    }
    const html = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('/v1/flow-tokens');
    expect(html.body).toContain('createFlowToken');
    expect(html.body).not.toMatch(/<script|<link|https?:\/\//);
  });
});
