import crypto from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PREFIX, adminRoutes } from '../../src/modules/admin/index.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  adminCli,
  auditRows,
  client,
  clientIp,
  cookiesOf,
  createAdmin,
  expectSecretsKeptOut,
  lastSeq,
  PASSWORD,
  postJson,
  signIn,
  totpAt,
  type Session,
  type TestAdmin,
} from './admin.fixtures.js';

const MIN = 60_000;

interface Enrolment {
  otpauth_uri: string;
  secret: string;
  account: string;
  expires_at: string;
}

/**
 * TOTP enrolment through HTTP and the CLI: admins created to enrol at sign-in, the enrolment-only session, the
 * first code, recovery codes shown once, an owner's MFA reset (API and `admin reset-mfa`), and regenerating
 * one's own recovery codes. Every change is audited with ids only.
 */
describe.each(storeKinds())('admin MFA enrolment on %s', (kind) => {
  let t: TestApp;
  let offset = 0;
  let owner: TestAdmin;
  let ownerSession: ReturnType<typeof client>;
  /** Everything secret or personal these tests handled: none of it may reach a log line or an audit row. */
  const secrets: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(kind, {}, { clock: () => new Date(Date.now() + offset) });
    owner = await createAdmin(t, 'owner');
    secrets.push(owner.email, owner.secret, ...owner.recoveryCodes);
    ownerSession = client(t, await signIn(t, owner));
  });
  afterAll(async () => t?.close());

  /** A new TOTP time step (each step's code is accepted once per admin). */
  const nextStep = () => {
    offset += 30_000;
  };
  const code = (secret: string) => generate({ secret, epoch: Math.floor(t.ctx.clock().getTime() / 1000) });

  /** An admin created by the owner to enrol at the first sign-in (no URI, no codes returned). */
  async function pendingAdmin(role = 'privacy_officer'): Promise<{ id: string; email: string }> {
    const email = `enrol-${crypto.randomBytes(4).toString('hex')}@flowguard.test`;
    secrets.push(email);
    const res = await ownerSession.post('/admin/api/users', {
      email,
      password: PASSWORD,
      role,
      enrol_at_sign_in: true,
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ email, role, mfa_enrolled: false });
    expect(body).not.toHaveProperty('otpauth_uri');
    expect(body).not.toHaveProperty('recovery_codes');
    return { id: body.id as string, email };
  }

  /**
   * A reset of the admin `id`'s MFA answered `answer`, ended their one session and removed their ten recovery
   * codes; returns its audit event (recorded after `before`).
   */
  async function expectMfaReset(
    answer: unknown,
    id: string,
    session: ReturnType<typeof client>,
    before: number,
  ) {
    expect(answer).toEqual({ id, mfa_enrolled: false, sessions_ended: 1, recovery_codes_removed: 10 });
    expect((await session.get('/admin/api/me')).statusCode).toBe(401);
    const [event] = await auditRows(t, { afterSeq: before, type: 'admin_user.mfa_reset' });
    expect(event).toBeDefined();
    return event!;
  }

  async function passwordSignIn(email: string, extra: Record<string, string> = {}) {
    const res = await postJson(
      t,
      '/admin/api/session',
      { email, password: PASSWORD, ...extra },
      { 'x-forwarded-for': clientIp() },
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ csrf_token: string; mfa_enrolment_required?: boolean }>();
    expect(body.mfa_enrolment_required).toBe(true);
    const session: Session = { cookie: cookiesOf(res), csrf: body.csrf_token };
    return { res, session, as: client(t, session) };
  }

  async function enrolment(as: ReturnType<typeof client>): Promise<Enrolment> {
    const res = await as.get('/admin/api/session/enrolment');
    expect(res.statusCode, res.body).toBe(200);
    const e = res.json<Enrolment>();
    secrets.push(e.secret);
    return e;
  }

  it('enrols an admin created to enrol at sign-in: QR URI, first code, recovery codes once, a new full session', async () => {
    const a = await pendingAdmin();
    const listed = (await ownerSession.get('/admin/api/users')).json<{ users: { id: string }[] }>();
    expect(listed.users.find((u) => u.id === a.id)).toMatchObject({
      mfa_enrolled: false,
      recovery_codes_left: 0,
    });

    const before = await lastSeq(t);
    const { res, session, as } = await passwordSignIn(a.email);
    const cookie = (res.headers['set-cookie'] as string[]).find((c) => c.startsWith('fg_admin_session='))!;
    expect(cookie).toMatch(/; Max-Age=900; SameSite=Strict; HttpOnly$/);

    // The enrolment session can do nothing but enrol: every other route refuses it.
    for (const route of adminRoutes.filter((r) => r.auth !== 'public' && r.auth !== 'enrolment')) {
      const url = `${ADMIN_PREFIX}${route.path.replace(':id', crypto.randomUUID())}`;
      const refused = await as.send(route.method, url, route.method === 'POST' ? {} : undefined);
      expect(refused.statusCode, `${route.method} ${url}`).toBe(403);
      expect(refused.json()).toMatchObject({ error: { code: 'MFA_ENROLMENT_REQUIRED' } });
    }

    const e = await enrolment(as);
    const uri = new URL(e.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(e.secret);
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(e.account).toBe(a.email);
    // The same secret on a reload of the same enrolment, sealed at rest.
    expect((await enrolment(as)).secret).toBe(e.secret);
    const row = await t.ctx.database.db
      .selectFrom('admin_users')
      .selectAll()
      .where('id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(e.secret);
    expect(row.mfa_enrolled_at).toBeNull();

    // A state-changing enrolment call needs the CSRF token; a wrong code is refused and counted.
    const noCsrf = await t.app.inject({
      method: 'POST',
      url: '/admin/api/session/enrolment',
      headers: { cookie: session.cookie, 'content-type': 'application/json' },
      payload: JSON.stringify({ totp: await code(e.secret) }),
    });
    expect(noCsrf.statusCode).toBe(403);
    const good = await code(e.secret);
    const wrong = await as.post('/admin/api/session/enrolment', {
      totp: good === '000000' ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', reason: 'code' } });

    const ok = await as.post('/admin/api/session/enrolment', { totp: good });
    expect(ok.statusCode, ok.body).toBe(200);
    const enrolled = ok.json<{ csrf_token: string; recovery_codes: string[]; user: { id: string } }>();
    expect(enrolled.user.id).toBe(a.id);
    expect(enrolled.recovery_codes).toHaveLength(10);
    expect(new Set(enrolled.recovery_codes).size).toBe(10);
    secrets.push(...enrolled.recovery_codes, enrolled.csrf_token);
    const full = client(t, { cookie: cookiesOf(ok), csrf: enrolled.csrf_token });
    expect(cookiesOf(ok)).not.toBe(session.cookie);
    expect((await full.get('/admin/api/me')).json()).toMatchObject({ id: a.id, role: 'privacy_officer' });
    // The password-only session is gone; the enrolment routes refuse the full one; the URI is never shown again.
    expect((await as.get('/admin/api/session/enrolment')).statusCode).toBe(401);
    expect((await full.get('/admin/api/session/enrolment')).statusCode).toBe(403);

    const codes = await t.ctx.database.db
      .selectFrom('admin_recovery_codes')
      .selectAll()
      .where('user_id', '=', a.id)
      .execute();
    expect(codes).toHaveLength(10);
    for (const c of enrolled.recovery_codes) expect(JSON.stringify(codes)).not.toContain(c.replace(/-/g, ''));

    const events = await auditRows(t, { afterSeq: before });
    const mine = events.filter((ev) => ev.actor_id === a.id);
    expect(mine.map((ev) => [ev.event_type, ev.data])).toEqual([
      ['admin.login', { outcome: 'succeeded', method: 'password', enrolment: true }],
      ['admin.login', { outcome: 'failed', reason: 'invalid_credentials', enrolment: true, locked: false }],
      ['admin_user.mfa_enrolled', { admin_id: a.id, recovery_codes: 10 }],
      ['admin.login', { outcome: 'succeeded', method: 'totp', enrolment: true }],
    ]);

    // From now on the password alone is not enough; the authenticator and the recovery codes work.
    nextStep();
    const pwOnly = await postJson(t, '/admin/api/session', { email: a.email, password: PASSWORD });
    expect(pwOnly.statusCode).toBe(401);
    const admin: TestAdmin = {
      id: a.id,
      email: a.email,
      password: PASSWORD,
      role: 'privacy_officer',
      secret: e.secret,
      recoveryCodes: enrolled.recovery_codes,
    };
    await signIn(t, admin, { ip: clientIp() });
    const byCode = await signIn(t, admin, { recoveryCode: enrolled.recovery_codes[0], ip: clientIp() });
    expect(byCode.cookie).toContain('fg_admin_session=');
  });

  it('draws a new secret at each enrolment sign-in, ends the earlier one, and ends an enrolment after 15 minutes', async () => {
    const a = await pendingAdmin('auditor');
    const first = await passwordSignIn(a.email);
    const e1 = await enrolment(first.as);
    // A code given at sign-in is ignored: the admin has no authenticator yet.
    const second = await passwordSignIn(a.email, { totp: await code(e1.secret) });
    const e2 = await enrolment(second.as);
    expect(e2.secret).not.toBe(e1.secret);
    expect((await first.as.get('/admin/api/session/enrolment')).statusCode).toBe(401);
    // The first secret cannot complete the enrolment.
    expect(
      (await second.as.post('/admin/api/session/enrolment', { totp: await code(e1.secret) })).statusCode,
    ).toBe(401);

    offset += 16 * MIN;
    const late = await second.as.post('/admin/api/session/enrolment', { totp: await code(e2.secret) });
    expect(late.statusCode).toBe(401);
    expect(late.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    // Giving up ends the session (admin.logout) and clears the cookies.
    const third = await passwordSignIn(a.email);
    const before = await lastSeq(t);
    const out = await third.as.del('/admin/api/session/enrolment');
    expect(out.statusCode).toBe(200);
    for (const c of out.headers['set-cookie'] as string[]) expect(c).toContain('Max-Age=0');
    expect((await third.as.get('/admin/api/session/enrolment')).statusCode).toBe(401);
    const [logout] = await auditRows(t, { afterSeq: before, type: 'admin.logout' });
    expect(logout).toMatchObject({ actor_id: a.id });
    // Ownerless calls: no cookie is 401, an API key or a full session is 403.
    expect((await t.app.inject({ method: 'GET', url: '/admin/api/session/enrolment' })).statusCode).toBe(401);
  });

  it("lets an owner reset another admin's MFA: sessions end, codes go, the next sign-in enrols again", async () => {
    const po = await createAdmin(t, 'privacy_officer');
    secrets.push(po.email, po.secret, ...po.recoveryCodes);
    const poSession = client(t, await signIn(t, po, { ip: clientIp() }));
    // An owner bound to a tenant cannot reach a global admin; nobody resets their own MFA.
    const tenantOwner = await createAdmin(t, 'owner', { tenant: 'default' });
    secrets.push(tenantOwner.email, tenantOwner.secret, ...tenantOwner.recoveryCodes);
    const bound = client(t, await signIn(t, tenantOwner, { ip: clientIp() }));
    expect((await bound.post(`/admin/api/users/${po.id}/reset-mfa`)).statusCode).toBe(404);
    // The owner's second factor is older than 15 minutes by now: show it again (step-up).
    nextStep();
    const stepped = await ownerSession.post('/admin/api/session/mfa', { totp: await totpAt(t, owner) });
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect((await ownerSession.post(`/admin/api/users/${owner.id}/reset-mfa`)).statusCode).toBe(409);

    const before = await lastSeq(t);
    const res = await ownerSession.post(`/admin/api/users/${po.id}/reset-mfa`);
    expect(res.statusCode, res.body).toBe(200);
    const event = await expectMfaReset(res.json(), po.id, poSession, before);
    expect(event).toMatchObject({ actor_type: 'admin', actor_id: owner.id });
    expect(event.data).toEqual({ admin_id: po.id, sessions_ended: 1, recovery_codes_removed: 10 });
    const listed = (await ownerSession.get('/admin/api/users')).json<{ users: { id: string }[] }>();
    expect(listed.users.find((u) => u.id === po.id)).toMatchObject({
      mfa_enrolled: false,
      recovery_codes_left: 0,
    });

    // The old authenticator and recovery codes open nothing more than an enrolment session.
    nextStep();
    const withOldCode = await passwordSignIn(po.email, { totp: await totpAt(t, po) });
    expect((await withOldCode.as.get('/admin/api/me')).statusCode).toBe(403);
    const withOldRecovery = await passwordSignIn(po.email, { recovery_code: po.recoveryCodes[0]! });
    const e = await enrolment(withOldRecovery.as);
    expect(e.secret).not.toBe(po.secret);
    const ok = await withOldRecovery.as.post('/admin/api/session/enrolment', { totp: await code(e.secret) });
    expect(ok.statusCode, ok.body).toBe(200);
    secrets.push(...ok.json<{ recovery_codes: string[] }>().recovery_codes);
  });

  it('regenerates your own recovery codes with a current TOTP code only; the old ones stop working', async () => {
    const a = await createAdmin(t, 'auditor');
    secrets.push(a.email, a.secret, ...a.recoveryCodes);
    const s = client(t, await signIn(t, a, { ip: clientIp() }));
    const recoveryAsTotp = a.recoveryCodes[1]!.replace(/-/g, '');
    expect((await s.post('/admin/api/session/recovery-codes', { totp: recoveryAsTotp })).statusCode).toBe(
      401,
    );
    expect((await s.post('/admin/api/session/recovery-codes', {})).statusCode).toBe(400);
    nextStep();
    const before = await lastSeq(t);
    const res = await s.post('/admin/api/session/recovery-codes', { totp: await totpAt(t, a) });
    expect(res.statusCode, res.body).toBe(200);
    const fresh = res.json<{ recovery_codes: string[] }>().recovery_codes;
    secrets.push(...fresh);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => a.recoveryCodes.includes(c))).toBe(false);
    const events = await auditRows(t, { afterSeq: before });
    expect(events.map((ev) => [ev.event_type, ev.actor_id, ev.data])).toEqual([
      ['admin.login', a.id, { outcome: 'succeeded', method: 'totp', step_up: true }],
      ['admin_user.recovery_codes_regenerated', a.id, { admin_id: a.id, recovery_codes: 10 }],
    ]);
    const old = await postJson(
      t,
      '/admin/api/session',
      { email: a.email, password: PASSWORD, recovery_code: a.recoveryCodes[2] },
      { 'x-forwarded-for': clientIp() },
    );
    expect(old.statusCode).toBe(401);
    await signIn(t, { ...a, recoveryCodes: fresh }, { recoveryCode: fresh[5], ip: clientIp() });
  });

  it('creates an admin to enrol at sign-in and resets MFA on the CLI (`admin reset-mfa --email`)', async () => {
    const cli = await adminCli(t, { FLOWGUARD_ADMIN_PASSWORD: PASSWORD });
    try {
      const email = `cli-enrol-${crypto.randomBytes(4).toString('hex')}@flowguard.test`;
      secrets.push(email);
      const created = await cli.run([
        'admin',
        'create',
        '--email',
        email,
        '--role',
        'operator',
        '--enrol-at-sign-in',
      ]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toContain('first sign-in');
      const out = JSON.parse(created.stdout) as Record<string, unknown>;
      expect(out).toMatchObject({ email, role: 'operator', mfa_enrolled: false });
      expect(out).not.toHaveProperty('otpauth_uri');
      const first = await passwordSignIn(email);
      const e = await enrolment(first.as);
      const ok = await first.as.post('/admin/api/session/enrolment', { totp: await code(e.secret) });
      expect(ok.statusCode).toBe(200);
      secrets.push(...ok.json<{ recovery_codes: string[] }>().recovery_codes);
      const full = client(t, { cookie: cookiesOf(ok), csrf: ok.json<{ csrf_token: string }>().csrf_token });

      const before = await lastSeq(t);
      const reset = await cli.run(['admin', 'reset-mfa', '--email', email.toUpperCase()]);
      expect(reset.code, reset.stderr).toBe(0);
      const event = await expectMfaReset(JSON.parse(reset.stdout), out.id as string, full, before);
      expect(event).toMatchObject({ actor_type: 'cli', actor_id: null });
      await passwordSignIn(email);

      const unknown = await cli.run(['admin', 'reset-mfa', '--email', `nobody-${email}`]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('NOT_FOUND');
      expect(unknown.stderr).not.toContain(email);
    } finally {
      await cli.close();
    }
  });

  it('documents the enrolment routes and the paging of the queue and the audit log at /docs', async () => {
    type Op = { 'x-permission': string; parameters?: { name: string; description?: string }[] };
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{
      paths: Record<string, Record<string, Op>>;
    }>();
    for (const method of ['get', 'post', 'delete']) {
      expect(doc.paths['/admin/api/session/enrolment']?.[method]?.['x-permission']).toBe('enrolment');
    }
    expect(doc.paths['/admin/api/users/{id}/reset-mfa']?.post?.['x-permission']).toBe('users.write');
    const param = (path: string, name: string) =>
      doc.paths[path]?.get?.parameters?.find((p) => p.name === name)?.description;
    expect(param('/admin/api/requests', 'cursor')).toContain('next_cursor');
    expect(param('/admin/api/audit', 'before')).toContain('next_before');
  });

  it('keeps e-mails, TOTP secrets and recovery codes out of logs and audit rows', async () => {
    await expectSecretsKeptOut(t, secrets, {
      atLeast: 40,
      events: ['admin_user.mfa_enrolled', 'admin_user.mfa_reset'],
    });
  });
});
