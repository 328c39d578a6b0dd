import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDsrDeps } from '../../src/modules/dsr/index.js';
import { startHmacVersion } from '../../src/modules/keys/index.js';
import { appUserRef } from '../../src/modules/meta-callback/record-deletion-request.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { freePort, writeConfig } from '../helpers/runner-fixtures.js';
import { createTestApp, storeKinds, TEST_APP_SECRET, type TestApp } from '../helpers/test-app.js';

const ACME_SECRET = 'acme-app-secret-meta-0123';

/** An app-scoped id as Meta issues them: a long decimal string (never a phone number). */
function appScopedId(): string {
  return `10${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}${crypto.randomInt(100, 999)}`;
}

function nowSeconds(offset = 0): number {
  return Math.floor(Date.now() / 1000) + offset;
}

/** What Meta sends: base64url(HMAC-SHA256(encoded payload)).base64url(payload). */
function signedRequest(payload: object | string, secret = TEST_APP_SECRET): string {
  const encoded = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString(
    'base64url',
  );
  const sig = crypto.createHmac('sha256', secret).update(encoded).digest('base64url');
  return `${sig}.${encoded}`;
}

function deletionPayload(userId: string, overrides: Record<string, unknown> = {}) {
  return { algorithm: 'HMAC-SHA256', issued_at: nowSeconds(), user_id: userId, ...overrides };
}

describe.each(storeKinds())('Meta data deletion callback on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      { id: 'acme', phoneNumberId: '200000000000012', appSecret: ACME_SECRET },
    );
    await t.ctx.tenants.reload();
  });
  afterAll(async () => t?.close());

  const post = (body: string | Buffer, contentType = 'application/x-www-form-urlencoded') =>
    t.app.inject({
      method: 'POST',
      url: '/meta/data-deletion',
      headers: { 'content-type': contentType },
      payload: body,
    });
  const postSigned = (sr: string) => post(`signed_request=${encodeURIComponent(sr)}`);
  const requestByReference = (reference: string) =>
    t.ctx.database.db
      .selectFrom('privacy_requests')
      .selectAll()
      .where('reference', '=', reference)
      .executeTakeFirstOrThrow();

  it('records a verified erasure for the app-scoped id and answers {url, confirmation_code}', async () => {
    const userId = appScopedId();
    const started = Date.now();
    const res = await postSigned(signedRequest(deletionPayload(userId)));
    const elapsed = Date.now() - started;
    expect(res.statusCode).toBe(200);
    const body = res.json<{ url: string; confirmation_code: string }>();
    expect(body.confirmation_code).toMatch(/^FG-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(body.url).toMatch(
      new RegExp(
        `^http://localhost(:\\d+)?/meta/data-deletion/status/${body.confirmation_code}\\.[0-9a-f]{24}$`,
      ),
    );
    const row = await requestByReference(body.confirmation_code);
    expect(row).toMatchObject({
      tenant_id: 'default',
      type: 'erasure',
      scope: 'all',
      channel: 'meta_callback',
      verification: 'meta_signed_request',
      status: 'completed',
      subject_id: null,
      identities: null,
    });
    expect(row.subject_ref).toBe(appUserRef(createDsrDeps(t.ctx), 'default', userId));
    const events = await t.ctx.database.db
      .selectFrom('audit_log')
      .select('event_type')
      .where('request_id', '=', row.id)
      .execute();
    expect(events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['request.received', 'request.verified', 'request.completed']),
    );
    const tasks = await t.ctx.database.db
      .selectFrom('request_tasks')
      .selectAll()
      .where('request_id', '=', row.id)
      .execute();
    expect(tasks).toMatchObject([{ system_id: 'flowguard', status: 'done' }]);
    // No WhatsApp message: flowguard has no number for an app-scoped id.
    const notes = await t.ctx.database.db
      .selectFrom('outbound_notifications')
      .selectAll()
      .where('request_id', '=', row.id)
      .execute();
    expect(notes).toEqual([]);
    const dump = JSON.stringify(await t.ctx.database.db.selectFrom('audit_log').selectAll().execute());
    expect(dump).not.toContain(userId);
    expect(t.logs.text()).not.toContain(userId);
    console.info(`meta data deletion callback answered in ${elapsed} ms (${kind})`);
  });

  it('shows the status page (HTML and JSON) without personal data; unknown codes are 404', async () => {
    const userId = appScopedId();
    const res = await postSigned(signedRequest(deletionPayload(userId)));
    const { url, confirmation_code } = res.json<{ url: string; confirmation_code: string }>();
    const path = new URL(url).pathname;
    const page = await t.app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain(confirmation_code);
    expect(page.body).toContain('Your data has been deleted.');
    expect(page.body).toMatch(/Received<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(page.body).not.toMatch(/<script|<link|<img|https?:\/\//);
    expect(page.body).not.toContain(userId);

    const json = await t.app.inject({ method: 'GET', url: path, headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(200);
    const status = json.json<Record<string, unknown>>();
    expect(status).toMatchObject({ confirmation_code, status: 'completed', state: 'completed' });
    expect(Object.keys(status).sort()).toEqual(
      ['completed_at', 'confirmation_code', 'received_at', 'state', 'status'].sort(),
    );
    expect(Date.parse(String(status.completed_at))).toBeGreaterThanOrEqual(
      Date.parse(String(status.received_at)),
    );

    const tampered = path.replace(/[0-9a-f]$/, (c) => (c === '0' ? '1' : '0'));
    for (const bad of [
      tampered,
      `/meta/data-deletion/status/${confirmation_code}`,
      '/meta/data-deletion/status/x',
    ]) {
      const miss = await t.app.inject({ method: 'GET', url: bad });
      expect(miss.statusCode, bad).toBe(404);
      expect(miss.headers['content-type']).toMatch(/^text\/html/);
      expect(miss.body).toContain('Request not found');
      const missJson = await t.app.inject({
        method: 'GET',
        url: bad,
        headers: { accept: 'application/json' },
      });
      expect(missJson.statusCode).toBe(404);
      expect(missJson.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it('lets the tenant whose app secret signed the request own it', async () => {
    const userId = appScopedId();
    const res = await postSigned(signedRequest(deletionPayload(userId), ACME_SECRET));
    expect(res.statusCode).toBe(200);
    const row = await requestByReference(res.json<{ confirmation_code: string }>().confirmation_code);
    expect(row.tenant_id).toBe('acme');
    expect(row.subject_ref).toBe(appUserRef(createDsrDeps(t.ctx), 'acme', userId));
    expect(row.subject_ref).not.toBe(appUserRef(createDsrDeps(t.ctx), 'default', userId));
  });

  it('refuses bad signatures, wrong algorithms, garbage, missing fields, stale requests and replays', async () => {
    const userId = appScopedId();
    const count = async () =>
      Number(
        (
          await t.ctx.database.db
            .selectFrom('privacy_requests')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const cases: {
      name: string;
      res: () => ReturnType<typeof post>;
      status: number;
      code: string;
      reason?: string;
    }[] = [
      {
        name: 'unknown secret',
        res: () => postSigned(signedRequest(deletionPayload(userId), 'not-a-tenant-secret')),
        status: 401,
        code: 'BAD_SIGNATURE',
      },
      {
        name: 'payload changed after signing',
        res: () => {
          const [sig] = signedRequest(deletionPayload(userId)).split('.');
          const other = Buffer.from(JSON.stringify(deletionPayload(appScopedId()))).toString('base64url');
          return postSigned(`${sig}.${other}`);
        },
        status: 401,
        code: 'BAD_SIGNATURE',
      },
      {
        name: 'wrong algorithm',
        res: () => postSigned(signedRequest(deletionPayload(userId, { algorithm: 'HMAC-SHA1' }))),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'wrong_algorithm',
      },
      {
        name: 'no user_id',
        res: () => postSigned(signedRequest({ algorithm: 'HMAC-SHA256', issued_at: nowSeconds() })),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'missing_field',
      },
      {
        name: 'user_id an object',
        res: () => postSigned(signedRequest(deletionPayload(userId, { user_id: { id: 1 } }))),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'malformed',
      },
      {
        name: 'payload not JSON',
        res: () => postSigned(signedRequest('{not json')),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'malformed',
      },
      {
        name: 'stale',
        res: () => postSigned(signedRequest(deletionPayload(userId, { issued_at: nowSeconds(-2 * 86400) }))),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'stale',
      },
      {
        name: 'issued in the future',
        res: () => postSigned(signedRequest(deletionPayload(userId, { issued_at: nowSeconds(3600) }))),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'issued_in_future',
      },
      {
        name: 'garbage',
        res: () => postSigned('garbage'),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'malformed',
      },
      {
        name: 'three parts',
        res: () => postSigned('a.b.c'),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'malformed',
      },
      {
        name: 'no signed_request field',
        res: () => post('user_id=1'),
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'missing_field',
      },
      { name: 'empty body', res: () => post(''), status: 400, code: 'BAD_REQUEST', reason: 'missing_field' },
      {
        name: 'field given twice',
        res: () => {
          const sr = encodeURIComponent(signedRequest(deletionPayload(userId)));
          return post(`signed_request=${sr}&signed_request=${sr}`);
        },
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'malformed',
      },
      {
        name: 'JSON body',
        res: () =>
          post(
            JSON.stringify({ signed_request: signedRequest(deletionPayload(userId)) }),
            'application/json',
          ),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
    ];
    for (const c of cases) {
      const res = await c.res();
      expect(res.statusCode, c.name).toBe(c.status);
      const err = res.json<{ error: { code: string; reason?: string } }>().error;
      expect(err.code, c.name).toBe(c.code);
      if (c.reason) expect(err.reason, c.name).toBe(c.reason);
    }
    expect(await count()).toBe(before);

    const sr = signedRequest(deletionPayload(userId, { algorithm: 'hmac-sha256' }));
    const first = await postSigned(sr);
    expect(first.statusCode).toBe(200);
    const replay = await postSigned(sr);
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toMatchObject({ error: { code: 'CONFLICT', reason: 'replayed' } });
    expect(await count()).toBe(before + 1);
    // A later callback for the same person is a new request (the first one is complete).
    const again = await postSigned(signedRequest(deletionPayload(userId, { issued_at: nowSeconds(-5) })));
    expect(again.statusCode).toBe(200);
    const a = await requestByReference(first.json<{ confirmation_code: string }>().confirmation_code);
    const b = await requestByReference(again.json<{ confirmation_code: string }>().confirmation_code);
    expect(b.id).not.toBe(a.id);
    expect(b.subject_ref).toBe(a.subject_ref);
    expect(t.logs.text()).not.toContain(userId);
  });
  // Random bodies (10,000 cases, never a 5xx, the documented status each time): fuzz.suite.ts.
});

/**
 * A data-map system nobody serves (no connector worker runs here) keeps each erasure open, so a second callback
 * for the same app-scoped id joins the first: also after the blind-index key has a new version.
 */
describe.each(storeKinds())('Meta data deletion callback while a request is open on %s', (kind) => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-meta-'));
    const file = writeConfig(
      dir,
      `systems:\n  - id: crm\n    type: http\n    url: http://127.0.0.1:${await freePort()}/erase\n    secret: meta-callback-crm-secret-0123\n`,
    );
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: file });
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const postSigned = (sr: string) =>
    t.app.inject({
      method: 'POST',
      url: '/meta/data-deletion',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `signed_request=${encodeURIComponent(sr)}`,
    });
  const requestsFor = (subjectRefs: string[]) =>
    t.ctx.database.db
      .selectFrom('privacy_requests')
      .select(['id', 'reference', 'status', 'subject_ref'])
      .where('subject_ref', 'in', subjectRefs)
      .execute();

  it('joins the open request for the same app-scoped id, before and after a new blind-index version', async () => {
    const userId = appScopedId();
    const first = await postSigned(signedRequest(deletionPayload(userId, { issued_at: nowSeconds(-20) })));
    expect(first.statusCode).toBe(200);
    const opened = first.json<{ url: string; confirmation_code: string }>();
    const oldRef = appUserRef(createDsrDeps(t.ctx), 'default', userId);
    expect(await requestsFor([oldRef])).toMatchObject([
      { reference: opened.confirmation_code, status: 'executing' },
    ]);

    const again = await postSigned(signedRequest(deletionPayload(userId, { issued_at: nowSeconds(-10) })));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ confirmation_code: opened.confirmation_code });

    // The operator starts a new blind-index key (`keys new-hmac-version --purpose blind-index`): new values
    // are written under b2 while b1 is still held for lookups.
    const started = await startHmacVersion(
      { db: t.ctx.database.db, keyring: t.ctx.keyring, keyStore: t.ctx.keyStore, tenantId: 'default' },
      { purpose: 'blind-index', activateInSeconds: 0 },
    );
    expect(started).toMatchObject({ version: 'b2', held: ['b2', 'b1'] });
    const newRef = appUserRef(createDsrDeps(t.ctx), 'default', userId);
    expect(newRef).not.toBe(oldRef);

    const after = await postSigned(signedRequest(deletionPayload(userId)));
    expect(after.statusCode).toBe(200);
    const joined = after.json<{ url: string; confirmation_code: string }>();
    expect(joined.confirmation_code).toBe(opened.confirmation_code);
    expect(await requestsFor([oldRef, newRef])).toMatchObject([
      { reference: opened.confirmation_code, status: 'executing', subject_ref: oldRef },
    ]);
    // The status URL given before the new version still shows the request.
    const page = await t.app.inject({
      method: 'GET',
      url: new URL(opened.url).pathname,
      headers: { accept: 'application/json' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.json()).toMatchObject({ confirmation_code: opened.confirmation_code, state: 'in_progress' });

    // Someone else after the new version: a request of their own, under the new blind-index version.
    const other = appScopedId();
    const theirs = await postSigned(signedRequest(deletionPayload(other)));
    expect(theirs.statusCode).toBe(200);
    expect(theirs.json<{ confirmation_code: string }>().confirmation_code).not.toBe(opened.confirmation_code);
    expect(await requestsFor([appUserRef(createDsrDeps(t.ctx), 'default', other)])).toHaveLength(1);
  });
});
