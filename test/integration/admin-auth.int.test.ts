import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  auditRows,
  client,
  clientIp,
  cookiesOf,
  createAdmin,
  expectSecretsKeptOut,
  lastSeq,
  PASSWORD,
  postJson,
  totpAt,
  type TestAdmin,
} from './admin.fixtures.js';

const MIN = 60_000;

/** Sign-in of the admin API through HTTP: password + TOTP or a recovery code, generic failures, throttling. */
describe.each(storeKinds())('admin sign-in on %s', (kind) => {
  let t: TestApp;
  let offset = 0;
  /** Everything secret or personal these tests handled: none of it may reach a log line or an audit row. */
  const secrets: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(kind, {}, { clock: () => new Date(Date.now() + offset) });
  });
  afterAll(async () => t?.close());

  const fromIp = (address: string) => ({ 'x-forwarded-for': address });
  /** Move the app's clock to the next TOTP step, so a new code is accepted. */
  const nextStep = () => {
    offset += 30_000;
  };
  async function admin(role: Parameters<typeof createAdmin>[1] = 'privacy_officer'): Promise<TestAdmin> {
    const a = await createAdmin(t, role);
    secrets.push(a.email, a.password, a.secret, ...a.recoveryCodes);
    return a;
  }
  const attempt = async (a: TestAdmin, body: Record<string, unknown>, address: string) =>
    postJson(t, '/admin/api/session', { email: a.email, password: a.password, ...body }, fromIp(address));

  it('signs in with password and TOTP: an HttpOnly, SameSite=Strict cookie on /admin and a CSRF token', async () => {
    const a = await admin();
    const before = await lastSeq(t);
    const res = await attempt(a, { totp: await totpAt(t, a) }, clientIp());
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      csrf_token: string;
      expires_at: string;
      idle_timeout_seconds: number;
      user: unknown;
    }>();
    expect(body).toMatchObject({
      csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      idle_timeout_seconds: 1800,
      user: { id: a.id, role: 'privacy_officer', tenant: null },
    });
    expect(new Date(body.expires_at).getTime() - t.ctx.clock().getTime()).toBeGreaterThan(
      12 * 60 * MIN - 5_000,
    );
    const cookies = res.headers['set-cookie'] as string[];
    const session = cookies.find((c) => c.startsWith('fg_admin_session='))!;
    expect(session).toMatch(/; Path=\/admin; Max-Age=43200; SameSite=Strict; HttpOnly$/);
    const csrf = cookies.find((c) => c.startsWith('fg_admin_csrf='))!;
    expect(csrf).toContain(`fg_admin_csrf=${body.csrf_token};`);
    expect(csrf).not.toContain('HttpOnly');
    // Only hashes of the session id and the CSRF token are stored.
    const sessionId = session.split(';')[0]!.split('=')[1]!;
    const stored = JSON.stringify(await t.ctx.database.db.selectFrom('admin_sessions').selectAll().execute());
    expect(stored).not.toContain(sessionId);
    expect(stored).not.toContain(body.csrf_token);
    secrets.push(sessionId, body.csrf_token);

    const me = await client(t, { cookie: cookiesOf(res), csrf: body.csrf_token }).get('/admin/api/me');
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ kind: 'user', id: a.id, email: a.email, role: 'privacy_officer' });
    const events = await auditRows(t, { afterSeq: before, type: 'admin.login' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_type: 'admin', actor_id: a.id, tenant_id: 'default' });
    expect(events[0]!.data).toEqual({ outcome: 'succeeded', method: 'totp' });
  });

  it('marks the cookie Secure when the request came over HTTPS (a proxy saying so)', async () => {
    const a = await admin();
    const res = await postJson(
      t,
      '/admin/api/session',
      { email: a.email, password: a.password, totp: await totpAt(t, a) },
      { ...fromIp(clientIp()), 'x-forwarded-proto': 'https' },
    );
    expect(res.statusCode).toBe(200);
    for (const c of res.headers['set-cookie'] as string[]) expect(c).toMatch(/; Secure$/);
  });

  it('accepts a TOTP code once: the same code again is refused', async () => {
    const a = await admin();
    const code = await totpAt(t, a);
    const address = clientIp();
    expect((await attempt(a, { totp: code }, address)).statusCode).toBe(200);
    const again = await attempt(a, { totp: code }, address);
    expect(again.statusCode).toBe(401);
    nextStep();
    expect((await attempt(a, { totp: await totpAt(t, a) }, address)).statusCode).toBe(200);
  });

  it('signs in with a recovery code once (case and dashes do not matter)', async () => {
    const a = await admin();
    const code = a.recoveryCodes[3]!;
    const address = clientIp();
    const res = await attempt(a, { recovery_code: code.toUpperCase().replace(/-/g, ' ') }, address);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ recovery_codes_left: 9 });
    const rows = await t.ctx.database.db
      .selectFrom('admin_recovery_codes')
      .select(['code_hash', 'used_at'])
      .where('user_id', '=', a.id)
      .execute();
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.used_at !== null)).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code.replace(/-/g, ''));
    expect((await attempt(a, { recovery_code: code }, address)).statusCode).toBe(401);
    expect((await attempt(a, { recovery_code: a.recoveryCodes[4] }, address)).json()).toMatchObject({
      recovery_codes_left: 8,
    });
  });

  it('answers a wrong password, a wrong or missing code and an unknown e-mail with the same 401 and no cookie', async () => {
    const a = await admin();
    const address = clientIp();
    const before = await lastSeq(t);
    const good = await totpAt(t, a);
    const wrongCode = good === '000000' ? '111111' : '000000';
    const answers = [
      await attempt(a, { password: `${PASSWORD}!`, totp: good }, address),
      await attempt(a, { totp: wrongCode }, address),
      await attempt(a, {}, address),
      await postJson(
        t,
        '/admin/api/session',
        {
          email: `nobody-${crypto.randomBytes(3).toString('hex')}@flowguard.test`,
          password: PASSWORD,
          totp: good,
        },
        fromIp(address),
      ),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'invalid e-mail, password or code' },
      });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const failed = await auditRows(t, { afterSeq: before, type: 'admin.login' });
    expect(failed.map((e) => [e.actor_type, e.actor_id, e.data])).toEqual([
      ['admin', a.id, { outcome: 'failed', reason: 'invalid_credentials', locked: false }],
      ['admin', a.id, { outcome: 'failed', reason: 'invalid_credentials', locked: false }],
      ['admin', a.id, { outcome: 'failed', reason: 'invalid_credentials', locked: false }],
      ['system', 'admin-sign-in', { outcome: 'failed', reason: 'invalid_credentials', locked: false }],
    ]);
    // Three failures do not lock; a success clears the account's count.
    expect((await attempt(a, { totp: good }, address)).statusCode).toBe(200);
  });

  it('locks an account after 5 failures for 15 minutes, even for the right password, and audits the lock', async () => {
    const a = await admin();
    const before = await lastSeq(t);
    for (let i = 0; i < 5; i++) {
      expect((await attempt(a, { password: 'not the password at all' }, clientIp())).statusCode).toBe(401);
    }
    const locked = await attempt(a, { totp: await totpAt(t, a) }, clientIp());
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(14 * 60);
    const events = await auditRows(t, { afterSeq: before, type: 'admin.login' });
    expect(events.map((e) => (e.data as { locked?: boolean }).locked)).toEqual([
      false,
      false,
      false,
      false,
      true,
    ]);
    // Another account is not affected; after 15 minutes the right password works again.
    const other = await admin();
    expect((await attempt(other, { totp: await totpAt(t, other) }, clientIp())).statusCode).toBe(200);
    offset += 15 * MIN + 1_000;
    expect((await attempt(a, { totp: await totpAt(t, a) }, clientIp())).statusCode).toBe(200);
  });

  it('locks a client address after 20 failures across e-mails; other addresses still sign in', async () => {
    const address = clientIp();
    for (let i = 0; i < 20; i++) {
      const res = await postJson(
        t,
        '/admin/api/session',
        { email: `guess-${i}@flowguard.test`, password: 'wrong wrong wrong' },
        fromIp(address),
      );
      expect(res.statusCode).toBe(401);
    }
    const a = await admin();
    const refused = await attempt(a, { totp: await totpAt(t, a) }, address);
    expect(refused.statusCode).toBe(429);
    expect((await attempt(a, { totp: await totpAt(t, a) }, clientIp())).statusCode).toBe(200);
  });

  it('believes X-Forwarded-For only from a trusted proxy: a direct client cannot rotate it to dodge the lock', async () => {
    // Not loopback or a private range (the default trusted proxies): a client on the internet.
    const direct = `203.0.113.${crypto.randomInt(1, 255)}`;
    const signIn = (email: string, password: string, totp?: string) =>
      t.app.inject({
        method: 'POST',
        url: '/admin/api/session',
        remoteAddress: direct,
        headers: { 'content-type': 'application/json', ...fromIp(clientIp()) },
        payload: JSON.stringify({ email, password, ...(totp ? { totp } : {}) }),
      });
    for (let i = 0; i < 20; i++) {
      expect((await signIn(`rotate-${i}@flowguard.test`, 'wrong wrong wrong')).statusCode).toBe(401);
    }
    const a = await admin();
    expect((await signIn(a.email, a.password, await totpAt(t, a))).statusCode).toBe(429);
  });

  it('keeps e-mails, passwords, TOTP secrets, recovery codes and session tokens out of logs and audit rows', async () => {
    await expectSecretsKeptOut(t, secrets, { atLeast: 20, events: ['admin.login'] });
  });
});
