import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes, ADMIN_PREFIX } from '../../src/modules/admin/index.js';
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
  postJson,
  signIn,
  totpAt,
  type TestAdmin,
} from './admin.fixtures.js';

const MIN = 60_000;

/** Admin sessions through HTTP: expiry, CSRF, step-up, disabled admins, and `admin create` on the CLI. */
describe.each(storeKinds())('admin sessions on %s', (kind) => {
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

  it('ends a session after 30 idle minutes, and after 12 hours however active', async () => {
    const a = await admin();
    const idle = client(t, await signIn(t, a, { ip: clientIp() }));
    offset += 29 * MIN;
    expect((await idle.get('/admin/api/me')).statusCode).toBe(200);
    offset += 29 * MIN;
    expect((await idle.get('/admin/api/me')).statusCode).toBe(200);
    offset += 31 * MIN;
    expect((await idle.get('/admin/api/me')).statusCode).toBe(401);

    nextStep();
    const busy = client(t, await signIn(t, a, { ip: clientIp() }));
    for (let elapsed = 0; elapsed < 12 * 60 - 25; elapsed += 25) {
      offset += 25 * MIN;
      expect((await busy.get('/admin/api/me')).statusCode).toBe(200);
    }
    offset += 25 * MIN;
    expect((await busy.get('/admin/api/me')).statusCode).toBe(401);
  });

  it("refuses a state-changing request without the session's CSRF token (403)", async () => {
    const a = await admin();
    const s = await signIn(t, a, { ip: clientIp() });
    nextStep();
    const other = await signIn(t, a, { ip: clientIp() });
    const del = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'DELETE',
        url: '/admin/api/session',
        headers: { cookie: s.cookie, ...headers },
      });
    const wrong: Record<string, string>[] = [
      {},
      { 'x-csrf-token': 'not-the-token' },
      { 'x-csrf-token': other.csrf },
    ];
    for (const headers of wrong) {
      const res = await del(headers);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN', reason: 'csrf' } });
    }
    // The CSRF cookie alone (what a cross-site form would carry) is not the header.
    expect((await del({ cookie: `${s.cookie}; fg_admin_csrf=${s.csrf}` })).statusCode).toBe(403);
    // Reads need no token; the right token signs out.
    expect(
      (await t.app.inject({ method: 'GET', url: '/admin/api/me', headers: { cookie: s.cookie } })).statusCode,
    ).toBe(200);
    const before = await lastSeq(t);
    const out = await del({ 'x-csrf-token': s.csrf });
    expect(out.statusCode).toBe(200);
    for (const c of out.headers['set-cookie'] as string[]) expect(c).toContain('Max-Age=0');
    expect((await client(t, s).get('/admin/api/me')).statusCode).toBe(401);
    expect((await client(t, other).get('/admin/api/me')).statusCode).toBe(200);
    const logout = await auditRows(t, { afterSeq: before, type: 'admin.logout' });
    expect(logout.map((e) => e.actor_id)).toEqual([a.id]);
  });

  it('gives nothing to a caller without a session: no cookie, a forged one, or a password-only sign-in', async () => {
    const a = await admin();
    const passwordOnly = await attempt(a, {}, clientIp());
    expect(passwordOnly.statusCode).toBe(401);
    expect(passwordOnly.headers['set-cookie']).toBeUndefined();
    const forged = `fg_admin_session=${crypto.randomBytes(32).toString('base64url')}`;
    for (const route of adminRoutes.filter((r) => r.auth !== 'public')) {
      const url = `${ADMIN_PREFIX}${route.path.replace(':id', crypto.randomUUID())}`;
      for (const headers of [{}, { cookie: forged }, { cookie: cookiesOf(passwordOnly) }]) {
        const res = await t.app.inject({ method: route.method, url, headers });
        expect(res.statusCode, `${route.method} ${url}`).toBe(401);
      }
    }
  });

  it('asks for the second factor again after 15 minutes before changing who may do what (step-up)', async () => {
    const owner = await admin('owner');
    const s = client(t, await signIn(t, owner, { ip: clientIp() }));
    const newUser = () => ({
      email: `new-${crypto.randomBytes(4).toString('hex')}@flowguard.test`,
      password: 'a long enough password',
      role: 'auditor',
    });
    expect((await s.post('/admin/api/users', newUser())).statusCode).toBe(201);
    offset += 16 * MIN;
    const stale = await s.post('/admin/api/users', newUser());
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toMatchObject({ error: { code: 'MFA_REQUIRED' } });
    expect((await s.get('/admin/api/users')).statusCode).toBe(200);
    expect((await s.post('/admin/api/session/mfa', { totp: '000000' })).statusCode).toBe(401);
    const stepped = await s.post('/admin/api/session/mfa', { totp: await totpAt(t, owner) });
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect((await s.post('/admin/api/users', newUser())).statusCode).toBe(201);
  });

  it('refuses a disabled admin and ends its sessions', async () => {
    const owner = await admin('owner');
    const po = await admin('privacy_officer');
    const poSession = client(t, await signIn(t, po, { ip: clientIp() }));
    const ownerSession = client(t, await signIn(t, owner, { ip: clientIp() }));
    const res = await ownerSession.post(`/admin/api/users/${po.id}/disable`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: po.id, sessions_ended: 1 });
    expect((await poSession.get('/admin/api/me')).statusCode).toBe(401);
    nextStep();
    const before = await lastSeq(t);
    expect((await attempt(po, { totp: await totpAt(t, po) }, clientIp())).statusCode).toBe(401);
    const [event] = await auditRows(t, { afterSeq: before, type: 'admin.login' });
    expect(event?.data).toEqual({ outcome: 'failed', reason: 'disabled', locked: false });
    const self = await ownerSession.post(`/admin/api/users/${owner.id}/disable`);
    expect(self.statusCode).toBe(409);
  });

  it('creates an admin on the CLI: password from stdin or the environment, TOTP URI and recovery codes once', async () => {
    const cli = await adminCli(t);
    try {
      const email = `cli-${crypto.randomBytes(4).toString('hex')}@flowguard.test`;
      const argv = ['admin', 'create', '--email', email, '--role', 'auditor'];
      const none = await cli.run(argv);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('FLOWGUARD_ADMIN_PASSWORD');
      const tooShort = await cli.run(argv, 'short pass\n');
      expect(tooShort.code).toBe(1);
      expect(tooShort.stderr).toContain('12 to 512 characters');
      const password = 'a passphrase for the cli test';
      const res = await cli.run(argv, `${password}\n`);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain('shown once');
      const out = JSON.parse(res.stdout) as {
        id: string;
        otpauth_uri: string;
        recovery_codes: string[];
        tenant: null;
      };
      expect(out.otpauth_uri).toMatch(/^otpauth:\/\/totp\/flowguard:[^?]+\?secret=[A-Z2-7]{32}&/);
      expect(out.recovery_codes).toHaveLength(10);
      expect(new Set(out.recovery_codes).size).toBe(10);
      const secret = new URL(out.otpauth_uri).searchParams.get('secret')!;
      secrets.push(email, password, secret, ...out.recovery_codes);
      const row = await t.ctx.database.db
        .selectFrom('admin_users')
        .selectAll()
        .where('id', '=', out.id)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(JSON.stringify(row)).not.toContain(email);
      expect(JSON.stringify(row)).not.toContain(secret);
      const cliAdmin: TestAdmin = {
        id: out.id,
        email,
        password,
        role: 'auditor',
        secret,
        recoveryCodes: out.recovery_codes,
      };
      expect((await attempt(cliAdmin, { totp: await totpAt(t, cliAdmin) }, clientIp())).statusCode).toBe(200);
      // The same e-mail twice is refused; the environment variable works as the source of the password.
      const envCli = await adminCli(t, { FLOWGUARD_ADMIN_PASSWORD: 'another long passphrase' });
      try {
        const dup = await envCli.run(['admin', 'create', '--email', email.toUpperCase(), '--role', 'owner']);
        expect(dup.code).toBe(1);
        expect(dup.stderr).toContain('CONFLICT');
        const other = await envCli.run([
          'admin',
          'create',
          '--email',
          `env-${email}`,
          '--role',
          'owner',
          '--tenant',
          'default',
        ]);
        expect(other.code, other.stderr).toBe(0);
        expect(JSON.parse(other.stdout)).toMatchObject({ role: 'owner', tenant: 'default' });
      } finally {
        await envCli.close();
      }
    } finally {
      await cli.close();
    }
  });

  it('keeps e-mails, passwords, TOTP secrets, recovery codes and session tokens out of logs and audit rows', async () => {
    await expectSecretsKeptOut(t, secrets, { atLeast: 20, events: ['admin.login'] });
  });
});
