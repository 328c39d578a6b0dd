import crypto from 'node:crypto';
import fs from 'node:fs';
import { generate } from 'otplib';
import { expect } from 'vitest';
import { listenAdminSocket } from '../../src/cli/admin-socket.js';
import { lockFilePath } from '../../src/lib/db/database.js';
import { createAdminDeps, createAdminUser, type AdminRole } from '../../src/modules/admin/index.js';
import { createDsrDeps, createRequest } from '../../src/modules/dsr/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { runCli } from '../helpers/cli.js';
import {
  createTestApp,
  fakePerson,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  type TestApp,
} from '../helpers/test-app.js';

/** Shared steps of the admin API tests: admins, sign-in, a signed-in client, and requests to look at. */

export interface TestAdmin {
  id: string;
  email: string;
  password: string;
  role: AdminRole;
  secret: string;
  recoveryCodes: string[];
}

export const PASSWORD = 'correct horse battery staple';

export async function createAdmin(
  t: TestApp,
  role: AdminRole,
  opts: { tenant?: string; password?: string } = {},
): Promise<TestAdmin> {
  const email = `${role.replace('_', '-')}-${crypto.randomBytes(4).toString('hex')}@flowguard.test`;
  const password = opts.password ?? PASSWORD;
  const created = await createAdminUser(t.ctx.database.db, createAdminDeps(t.ctx), {
    email,
    password,
    role,
    tenantId: opts.tenant,
    actor: { type: 'cli' },
  });
  const secret = new URL(created.otpauth_uri!).searchParams.get('secret')!;
  return { id: created.id, email, password, role, secret, recoveryCodes: created.recovery_codes! };
}

/** The TOTP code of the app's clock now (or `at`). */
export function totpAt(t: TestApp, admin: TestAdmin, at: Date = t.ctx.clock()): Promise<string> {
  return generate({ secret: admin.secret, epoch: Math.floor(at.getTime() / 1000) });
}

/** A random client address (10.x.x.x) for X-Forwarded-For: each has a sign-in throttle of its own. */
export function clientIp(): string {
  return `10.${crypto.randomInt(256)}.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;
}

export interface Session {
  cookie: string;
  csrf: string;
}

export function postJson(t: TestApp, url: string, body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

/** The Set-Cookie headers of a response as `name=value` pairs for a Cookie header. */
export function cookiesOf(res: { headers: Record<string, unknown> }): string {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  return list.map((c) => c.split(';')[0]!).join('; ');
}

/** Sign in with password + TOTP (or a recovery code); expects success. */
export async function signIn(
  t: TestApp,
  admin: TestAdmin,
  opts: { recoveryCode?: string; ip?: string } = {},
): Promise<Session> {
  const body = opts.recoveryCode
    ? { email: admin.email, password: admin.password, recovery_code: opts.recoveryCode }
    : { email: admin.email, password: admin.password, totp: await totpAt(t, admin) };
  const res = await postJson(t, '/admin/api/session', body, opts.ip ? { 'x-forwarded-for': opts.ip } : {});
  expect(res.statusCode, res.body).toBe(200);
  return { cookie: cookiesOf(res), csrf: res.json<{ csrf_token: string }>().csrf_token };
}

/** An HTTP client for a session (cookie + CSRF header) or an API key. */
export function client(t: TestApp, auth: Session | { apiKey: string } | undefined) {
  const headers: Record<string, string> =
    auth === undefined
      ? {}
      : 'apiKey' in auth
        ? { authorization: `Bearer ${auth.apiKey}` }
        : { cookie: auth.cookie, 'x-csrf-token': auth.csrf };
  return {
    get: (url: string) => t.app.inject({ method: 'GET', url, headers }),
    post: (url: string, body?: unknown) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      }),
    del: (url: string) => t.app.inject({ method: 'DELETE', url, headers }),
    send: (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
      t.app.inject({
        method,
        url,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      }),
  };
}

/**
 * A privacy request of one tenant: `awaiting` (staff-entered, waiting for the person's confirmation) or
 * `completed` (verified by its channel and carried out at once; an access request then has an export).
 */
export async function makeRequest(
  t: TestApp,
  opts: { tenant?: string; type?: 'erasure' | 'access'; state?: 'awaiting' | 'completed' } = {},
): Promise<{ id: string; reference: string; status: string; phone: string }> {
  const tenant = await t.ctx.tenants.get(opts.tenant ?? 'default');
  const p = fakePerson();
  const identity = { kind: 'phone' as const, value: p.e164 };
  const deps = createDsrDeps(t.ctx);
  const created = await t.ctx.database.db.transaction().execute(async (tx) => {
    const subject = await t.ctx.subjects.findOrCreate(tx, tenant.id, [identity]);
    return createRequest(tx, deps, {
      tenant,
      type: opts.type ?? 'erasure',
      channel: opts.state === 'completed' ? 'flow' : 'api',
      subject: { subjectId: subject.id },
      verification: opts.state === 'completed' ? 'flow_token' : null,
      actor: { type: 'system' },
    });
  });
  return { ...created, phone: p.e164 };
}

export async function auditRows(t: TestApp, where: { afterSeq?: number; type?: string } = {}) {
  let q = t.ctx.database.db.selectFrom('audit_log').selectAll().orderBy('seq');
  if (where.type) q = q.where('event_type', '=', where.type);
  const rows = await q.execute();
  return rows.filter((r) => where.afterSeq === undefined || Number(r.seq) > where.afterSeq);
}

export async function lastSeq(t: TestApp): Promise<number> {
  const rows = await t.ctx.database.db.selectFrom('audit_head').select('seq').execute();
  return Number(rows[0]?.seq ?? 0);
}

/**
 * The CLI against the test app's store, as while `serve` runs (see cliFor in requests.fixtures), with text on
 * standard input.
 */
export async function adminCli(t: TestApp, env: Record<string, string> = {}) {
  const cliEnv: Record<string, string | undefined> = {
    FLOWGUARD_DATA_DIR: t.dataDir,
    FLOWGUARD_MASTER_KEY: t.config.masterKey!.toString('base64'),
    DATABASE_URL: t.databaseUrl,
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
    FLOWGUARD_LOG_LEVEL: 'warn',
    ...env,
  };
  let closeSocket: (() => Promise<void>) | undefined;
  if (t.kind === 'pglite') {
    fs.writeFileSync(lockFilePath(t.dataDir), String(process.ppid));
    closeSocket = await listenAdminSocket(t.ctx);
  }
  return {
    run: (argv: string[], stdin?: string) => runCli(argv, cliEnv, { cwd: t.dataDir, stdin }),
    async close() {
      await closeSocket?.();
      fs.rmSync(lockFilePath(t.dataDir), { force: true });
    },
  };
}

/**
 * One app with three more tenants (`other`, `queue`, `stats`) and five signed-in admins: `po` (global privacy
 * officer) and `poA`, `ownerA`, `operatorA`, `auditorA` bound to tenant `default`. `offset` moves the app's
 * clock; `personal` collects phone numbers and e-mails that must never reach an audit row or a log line.
 */
export async function createAdminWorld(kind: TestApp['kind']) {
  const world = {
    offset: 0,
    personal: [] as string[],
    admins: new Map<string, TestAdmin>(),
    sessions: new Map<string, Session>(),
  };
  const t = await createTestApp(kind, {}, { clock: () => new Date(Date.now() + world.offset) });
  for (const [id, phoneNumberId] of [
    ['other', '100000000000077'],
    ['queue', '100000000000078'],
    ['stats', '100000000000079'],
  ] as const) {
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      { id, phoneNumberId, appSecret: `${id}-app-secret-0001` },
    );
  }
  await t.ctx.tenants.reload();
  for (const [name, role, tenant] of [
    ['po', 'privacy_officer', undefined],
    ['poA', 'privacy_officer', 'default'],
    ['ownerA', 'owner', 'default'],
    ['operatorA', 'operator', 'default'],
    ['auditorA', 'auditor', 'default'],
  ] as const) {
    const a = await createAdmin(t, role, tenant ? { tenant } : {});
    world.personal.push(a.email);
    world.admins.set(name, a);
    world.sessions.set(name, await signIn(t, a));
  }
  const as = (name: string) => client(t, world.sessions.get(name)!);
  return Object.assign(world, {
    t,
    as,
    db: () => t.ctx.database.db,
    /** Show the TOTP again, on a time step of its own (each step's code is accepted once). */
    async stepUp(name: string) {
      world.offset += 30_000;
      const res = await as(name).post('/admin/api/session/mfa', {
        totp: await totpAt(t, world.admins.get(name)!),
      });
      expect(res.statusCode).toBe(200);
    },
    async request(opts: Parameters<typeof makeRequest>[1] = {}) {
      const r = await makeRequest(t, opts);
      world.personal.push(r.phone);
      return r;
    },
    close: () => t.close(),
  });
}

export type AdminWorld = Awaited<ReturnType<typeof createAdminWorld>>;

export interface RequestSummary {
  id: string;
  status: string;
  type: string;
  tenant: string;
  overdue: boolean;
  due_at: string;
}

/** Nothing personal collected by a world may be in the audit log or the logs. */
export async function expectNothingPersonal(w: AdminWorld): Promise<void> {
  expect(w.personal.length).toBeGreaterThan(5);
  const audit = JSON.stringify(await auditRows(w.t));
  const logs = w.t.logs.text();
  for (const value of w.personal) {
    expect(audit).not.toContain(value);
    expect(audit).not.toContain(value.replace('+', ''));
    expect(logs).not.toContain(value);
  }
}

/**
 * None of the `secrets` a test file handled (e-mails, passwords, TOTP secrets, recovery codes, session
 * tokens) is in an audit row or a log line; more than `atLeast` were collected, and the audit log holds each
 * of `events`.
 */
export async function expectSecretsKeptOut(
  t: TestApp,
  secrets: string[],
  opts: { atLeast: number; events: string[] },
): Promise<void> {
  expect(secrets.length).toBeGreaterThan(opts.atLeast);
  const audit = JSON.stringify(await auditRows(t));
  const logs = t.logs.text();
  for (const value of secrets) {
    expect(audit).not.toContain(value);
    expect(logs).not.toContain(value);
  }
  for (const event of opts.events) expect(audit).toContain(event);
}
