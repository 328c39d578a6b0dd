import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PREFIX,
  ADMIN_ROLES,
  adminRoutes,
  can,
  PERMISSIONS,
  type AdminRole,
  type AdminRoute,
} from '../../src/modules/admin/index.js';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  auditRows,
  client,
  createAdmin,
  lastSeq,
  makeRequest,
  signIn,
  totpAt,
  type TestAdmin,
} from './admin.fixtures.js';

type Principal =
  | { kind: 'user'; role: AdminRole; admin: TestAdmin; auth: { cookie: string; csrf: string } }
  | { kind: 'admin_key'; id: string; auth: { apiKey: string } }
  | { kind: 'service_key'; auth: { apiKey: string } };

interface Call {
  url: string;
  body?: unknown;
  /** Use a session of its own (this call ends it). */
  ownSession?: boolean;
  /** Runs after a successful call (e.g. to keep the principal's new recovery codes). */
  after?: (body: unknown) => void;
}

/**
 * THE permission matrix test: every admin route × every role (and an admin API key, a service API key), each
 * call made valid for its route, asserting 2xx exactly where src/modules/admin/permissions.ts allows it and 403
 * everywhere else; and every allowed call writes the audit events its route declares (by this principal).
 */
describe.each(storeKinds())('the admin permission matrix on %s', (kind) => {
  let t: TestApp;
  const principals: Principal[] = [];
  let codeIndex = 0;
  /** The app's clock runs ahead by this much: a new TOTP time step for calls that need a fresh code. */
  let offset = 0;
  beforeAll(async () => {
    t = await createTestApp(kind, {}, { clock: () => new Date(Date.now() + offset) });
    for (const role of ADMIN_ROLES) {
      const admin = await createAdmin(t, role);
      principals.push({ kind: 'user', role, admin, auth: await signIn(t, admin) });
    }
    const adminKey = await createApiKey(t.ctx.database.db, {
      tenantId: 'default',
      name: 'matrix',
      role: 'admin',
    });
    principals.push({ kind: 'admin_key', id: adminKey.id, auth: { apiKey: adminKey.key } });
    const serviceKey = await createApiKey(t.ctx.database.db, {
      tenantId: 'default',
      name: 'svc',
      role: 'service',
    });
    principals.push({ kind: 'service_key', auth: { apiKey: serviceKey.key } });
  });
  afterAll(async () => t?.close());

  const db = () => t.ctx.database.db;
  const recoveryCode = (p: Principal) =>
    p.kind === 'user' ? p.admin.recoveryCodes[codeIndex++ % 10]! : 'none';
  const newEmail = () => `matrix-${crypto.randomBytes(4).toString('hex')}@flowguard.test`;
  const deadLetter = async () => {
    const r = await makeRequest(t, { state: 'completed' });
    const id = await t.ctx.queue.send(db(), 'connector.run.dead', { requestId: r.id, systemId: 'crm' });
    return id!;
  };

  /** A valid call of each route (by operationId); a route missing here fails the first test. */
  const calls: Record<string, (p: Principal) => Promise<Call>> = {
    adminStepUp: async (p) => ({ url: '/session/mfa', body: { recovery_code: recoveryCode(p) } }),
    adminSignOut: async () => ({ url: '/session', ownSession: true }),
    adminMe: async () => ({ url: '/me' }),
    adminRegenerateRecoveryCodes: async (p) => {
      offset += 30_000;
      if (p.kind !== 'user') return { url: '/session/recovery-codes', body: { totp: '123456' } };
      return {
        url: '/session/recovery-codes',
        body: { totp: await totpAt(t, p.admin) },
        after: (body) => {
          p.admin.recoveryCodes = (body as { recovery_codes: string[] }).recovery_codes;
        },
      };
    },
    adminListRequests: async () => ({ url: '/requests?status=awaiting_verification&limit=5' }),
    adminGetRequest: async () => ({ url: `/requests/${(await makeRequest(t)).id}` }),
    adminApproveRequest: async () => ({
      url: `/requests/${(await makeRequest(t)).id}/approve`,
      body: { reason_code: 'verified_by_document' },
    }),
    adminDenyRequest: async () => ({
      url: `/requests/${(await makeRequest(t)).id}/deny`,
      body: { reason_code: 'identity_not_verified' },
    }),
    adminExtendRequest: async () => ({
      url: `/requests/${(await makeRequest(t)).id}/extend`,
      body: { days: 30, reason_code: 'complexity' },
    }),
    adminDownloadExport: async () => ({
      url: `/requests/${(await makeRequest(t, { type: 'access', state: 'completed' })).id}/export`,
    }),
    adminProofReport: async () => ({
      url: `/requests/${(await makeRequest(t, { state: 'completed' })).id}/proof`,
    }),
    adminListDeadLetters: async () => ({ url: '/dead-letters' }),
    adminRetryDeadLetter: async () => ({ url: `/dead-letters/${await deadLetter()}/retry` }),
    adminRunRetention: async () => ({ url: '/retention/run' }),
    adminHealth: async () => ({ url: '/health' }),
    adminAuditLog: async () => ({ url: '/audit?limit=10' }),
    adminVerifyAudit: async () => ({ url: '/audit/verify' }),
    adminListUsers: async () => ({ url: '/users' }),
    adminCreateUser: async () => ({
      url: '/users',
      body: { email: newEmail(), password: 'a long enough password', role: 'auditor' },
    }),
    adminDisableUser: async () => ({ url: `/users/${(await createAdmin(t, 'auditor')).id}/disable` }),
    adminResetUserMfa: async () => ({ url: `/users/${(await createAdmin(t, 'auditor')).id}/reset-mfa` }),
    adminListTenants: async () => ({ url: '/tenants' }),
    adminListApiKeys: async () => ({ url: '/api-keys' }),
    adminCreateApiKey: async () => ({ url: '/api-keys', body: { name: 'from the matrix', role: 'service' } }),
    adminRevokeApiKey: async () => ({
      url: `/api-keys/${(await createApiKey(db(), { tenantId: 'default', name: 'to revoke' })).id}/revoke`,
    }),
    adminComplianceSummary: async () => ({ url: '/metrics/summary?days=7' }),
  };

  /** Routes of an enrolment session only (admin-enrolment.int.test.ts): every principal here is refused. */
  const enrolmentOnly = adminRoutes.filter((r) => r.auth === 'enrolment');
  const guarded = adminRoutes.filter((r) => r.auth !== 'public' && r.auth !== 'enrolment');

  it('has a valid call for every route, and only sign-in is public', () => {
    expect(adminRoutes.filter((r) => r.auth === 'public').map((r) => r.operationId)).toEqual(['adminSignIn']);
    expect(enrolmentOnly.map((r) => r.operationId).sort()).toEqual([
      'adminCancelEnrolment',
      'adminConfirmEnrolment',
      'adminGetEnrolment',
    ]);
    expect(guarded.map((r) => r.operationId).sort()).toEqual(Object.keys(calls).sort());
    // Every permission guards at least one route; every role can do something beyond `me`.
    expect(new Set(guarded.map((r) => r.auth))).toEqual(new Set(PERMISSIONS));
  });

  it('grants each role exactly its least-privilege set (the table below is the specification)', () => {
    const spec: Record<AdminRole | 'api_key', string[]> = {
      owner: ['me.read', 'users.read', 'users.write', 'tenants.read', 'api_keys.read', 'api_keys.write'],
      privacy_officer: [
        'me.read',
        'requests.read',
        'requests.decide',
        'exports.download',
        'proofs.read',
        'metrics.read',
      ],
      operator: ['me.read', 'dlq.read', 'dlq.retry', 'retention.run', 'health.read', 'metrics.read'],
      auditor: ['me.read', 'requests.read', 'proofs.read', 'audit.read', 'audit.verify', 'metrics.read'],
      api_key: [
        'me.read',
        'requests.read',
        'requests.decide',
        'exports.download',
        'proofs.read',
        'dlq.read',
        'dlq.retry',
        'health.read',
        'audit.read',
        'audit.verify',
        'metrics.read',
      ],
    };
    for (const [who, granted] of Object.entries(spec)) {
      const holder =
        who === 'api_key' ? { kind: 'api_key' as const } : { kind: 'user' as const, role: who as AdminRole };
      expect(
        PERMISSIONS.filter((x) => can(holder, x)),
        who,
      ).toEqual(granted);
    }
    // No personal data for the auditor, no request data for the owner, no user management for a key.
    expect(can({ kind: 'user', role: 'auditor' }, 'exports.download')).toBe(false);
    expect(can({ kind: 'user', role: 'owner' }, 'requests.read')).toBe(false);
    expect(can({ kind: 'api_key' }, 'users.write')).toBe(false);
  });

  function expected(route: AdminRoute, p: Principal): number {
    if (p.kind === 'service_key') return 403;
    const allowed =
      p.kind === 'user'
        ? can({ kind: 'user', role: p.role }, route.auth as never)
        : can({ kind: 'api_key' }, route.auth as never);
    if (!allowed) return 403;
    if (p.kind === 'admin_key' && route.tag === 'session' && route.method !== 'GET') return 400; // no session
    return route.status ?? 200;
  }

  const label = (p: Principal) => (p.kind === 'user' ? p.role : p.kind);

  const everyone: string[] = [...ADMIN_ROLES, 'admin_key', 'service_key'];
  it.each(everyone)(
    'allows exactly what the matrix says for %s, and audits what each route declares',
    async (who) => {
      const p = principals.find((x) => label(x) === who)!;
      const actorId = p.kind === 'user' ? p.admin.id : p.kind === 'admin_key' ? p.id : undefined;
      const outcome: string[] = [];
      for (const route of guarded) {
        const call = await calls[route.operationId]!(p);
        const auth =
          call.ownSession && p.kind === 'user'
            ? await signIn(t, p.admin, { recoveryCode: recoveryCode(p) })
            : p.auth;
        const before = await lastSeq(t);
        const res = await client(t, auth).send(route.method, `${ADMIN_PREFIX}${call.url}`, call.body);
        const want = expected(route, p);
        outcome.push(`${route.method} ${route.path}: ${res.statusCode}`);
        expect(res.statusCode, `${who} ${route.method} ${route.path}: ${res.body.slice(0, 300)}`).toBe(want);
        if (want < 300) call.after?.(res.json());
        if (want === 403) {
          expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
          continue;
        }
        if (want >= 300) continue;
        const events = await auditRows(t, { afterSeq: before });
        const mine = events.filter((e) => e.actor_id === actorId);
        for (const type of route.audit) {
          expect(
            events.map((e) => e.event_type),
            `${who} ${route.operationId} writes ${type}`,
          ).toContain(type);
        }
        if (route.audit.length > 0) {
          expect(mine.length, `${who} ${route.operationId}: an event by this principal`).toBeGreaterThan(0);
          expect(mine.every((e) => route.audit.includes(e.event_type as never))).toBe(true);
        } else {
          expect(events, `${who} ${route.operationId} writes nothing`).toEqual([]);
        }
      }
      expect(outcome.length).toBe(guarded.length);
      // No principal here has an enrolment session: the enrolment routes refuse them all.
      for (const route of enrolmentOnly) {
        const body = route.method === 'POST' ? { totp: '123456' } : undefined;
        const res = await client(t, p.auth).send(route.method, `${ADMIN_PREFIX}${route.path}`, body);
        expect(res.statusCode, `${who} ${route.method} ${route.path}`).toBe(403);
        expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      }
    },
  );

  it('documents every admin route in the OpenAPI document with its permission, MFA and audit events', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{
      paths: Record<
        string,
        Record<string, { operationId: string; 'x-permission': string; 'x-mfa': string; 'x-audit': string[] }>
      >;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    for (const route of adminRoutes) {
      const path = `${ADMIN_PREFIX}${route.path}`.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${path}`).toBeDefined();
      expect(op).toMatchObject({
        operationId: route.operationId,
        'x-permission': route.auth,
        'x-mfa': route.auth === 'public' || route.auth === 'enrolment' ? 'none' : (route.mfa ?? 'session'),
        'x-audit': [...route.audit],
      });
      expect(t.app.hasRoute({ method: route.method, url: `${ADMIN_PREFIX}${route.path}` })).toBe(true);
    }
    expect(doc.components.securitySchemes).toHaveProperty('adminSession');
  });
});
