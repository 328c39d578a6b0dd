import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import { bumpCounter } from '../../src/modules/compliance/counters.js';
import { storeKinds } from '../helpers/test-app.js';
import {
  adminCli,
  auditRows,
  client,
  createAdmin,
  createAdminWorld,
  expectNothingPersonal,
  lastSeq,
  signIn,
  type AdminWorld,
  type RequestSummary as Summary,
} from './admin.fixtures.js';

const DAY = 86_400_000;

/** Every admin query is scoped to the caller's tenant; dead-letter replay and the compliance summary. */
describe.each(storeKinds())('tenant scoping, dead letters and metrics in the admin API on %s', (kind) => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await createAdminWorld(kind);
  });
  afterAll(async () => w?.close());

  it("keeps a tenant's admins and keys to that tenant; a global admin sees every tenant", async () => {
    const mine = await w.request();
    const theirs = await w.request({ tenant: 'other', type: 'access', state: 'completed' });
    const poA = w.as('poA');
    // A fresh second factor (exports and user management need it), so the answers below are about tenants alone.
    await w.stepUp('poA');
    await w.stepUp('ownerA');
    const listed = (await poA.get('/admin/api/requests?limit=200')).json<{ requests: Summary[] }>().requests;
    expect(listed.map((r) => r.id)).toContain(mine.id);
    expect(listed.every((r) => r.tenant === 'default')).toBe(true);
    expect((await poA.get('/admin/api/requests?tenant=other')).statusCode).toBe(403);
    for (const path of ['', '/export', '/proof']) {
      expect((await poA.get(`/admin/api/requests/${theirs.id}${path}`)).statusCode, path).toBe(404);
    }
    expect(
      (await poA.post(`/admin/api/requests/${theirs.id}/deny`, { reason_code: 'excessive' })).statusCode,
    ).toBe(404);
    expect(
      (await poA.post(`/admin/api/requests/${theirs.id}/approve`, { reason_code: 'authorized_agent' }))
        .statusCode,
    ).toBe(404);
    expect((await poA.get('/admin/api/metrics/summary?tenant=other')).statusCode).toBe(403);

    const global = w.as('po');
    const other = (await global.get('/admin/api/requests?tenant=other')).json<{ requests: Summary[] }>()
      .requests;
    expect(other.map((r) => r.id)).toEqual([theirs.id]);
    expect((await global.get(`/admin/api/requests/${theirs.id}`)).statusCode).toBe(200);

    // An admin API key acts for its own tenant only.
    const key = await createApiKey(w.db(), { tenantId: 'other', name: 'other admin', role: 'admin' });
    const byKey = client(w.t, { apiKey: key.key });
    expect(
      (await byKey.get('/admin/api/requests')).json<{ requests: Summary[] }>().requests.map((r) => r.id),
    ).toEqual([theirs.id]);
    expect((await byKey.get(`/admin/api/requests/${mine.id}`)).statusCode).toBe(404);

    // The owner of tenant default: its own users, keys and tenant; admins it creates belong to it.
    const ownerA = w.as('ownerA');
    const users = (await ownerA.get('/admin/api/users')).json<{
      users: { id: string; tenant: string | null }[];
    }>().users;
    expect(users.length).toBeGreaterThanOrEqual(4);
    expect(users.every((u) => u.tenant === 'default')).toBe(true);
    expect(users.map((u) => u.id)).not.toContain(w.admins.get('po')!.id);
    const created = await ownerA.post('/admin/api/users', {
      email: 'scoped-new@flowguard.test',
      password: 'a long enough password',
      role: 'auditor',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ tenant: 'default' });
    w.personal.push('scoped-new@flowguard.test');
    expect(
      (
        await ownerA.post('/admin/api/users', {
          email: 'x@flowguard.test',
          password: 'a long enough password',
          role: 'auditor',
          tenant: 'other',
        })
      ).statusCode,
    ).toBe(403);
    expect((await ownerA.post(`/admin/api/users/${w.admins.get('po')!.id}/disable`)).statusCode).toBe(404);
    const keys = (await ownerA.get('/admin/api/api-keys')).json<{ api_keys: { tenant: string }[] }>()
      .api_keys;
    expect(keys.every((k) => k.tenant === 'default')).toBe(true);
    expect((await ownerA.post(`/admin/api/api-keys/${key.id}/revoke`)).statusCode).toBe(404);
    expect(
      (await ownerA.get('/admin/api/tenants')).json<{ tenants: { id: string }[] }>().tenants.map((x) => x.id),
    ).toEqual(['default']);

    // The operator of tenant default: not the other tenant's dead letters; not the installation-wide sweep.
    const dead = await w.t.ctx.queue.send(w.db(), 'connector.run.dead', {
      requestId: theirs.id,
      systemId: 'crm',
    });
    const operatorA = w.as('operatorA');
    const letters = (await operatorA.get('/admin/api/dead-letters')).json<{
      dead_letters: { id: string }[];
    }>();
    expect(letters.dead_letters.map((l) => l.id)).not.toContain(dead);
    expect((await operatorA.post(`/admin/api/dead-letters/${dead}/retry`)).statusCode).toBe(404);
    expect((await operatorA.post('/admin/api/retention/run')).statusCode).toBe(403);

    // The auditor of tenant default reads its tenant's audit rows only.
    const auditorA = w.as('auditorA');
    const page = (await auditorA.get('/admin/api/audit?limit=500')).json<{ events: { tenant: string }[] }>();
    expect(page.events.length).toBeGreaterThan(0);
    expect(page.events.every((e) => e.tenant === 'default')).toBe(true);
    expect((await auditorA.get('/admin/api/audit?tenant=other')).statusCode).toBe(403);
    const verify = await auditorA.get('/admin/api/audit/verify');
    expect(verify.json()).toMatchObject({ ok: true });
  });

  it('replays a dead letter: the task set pending, the failed request executing again, audited', async () => {
    const r = await w.request({ state: 'completed' });
    await w
      .db()
      .insertInto('request_tasks')
      .values({ request_id: r.id, system_id: 'crm', action: 'erase', status: 'dead', counts: '{}' })
      .execute();
    await w.db().updateTable('privacy_requests').set({ status: 'failed' }).where('id', '=', r.id).execute();
    const dead = await w.t.ctx.queue.send(w.db(), 'connector.run.dead', { requestId: r.id, systemId: 'crm' });
    const operator = await createAdmin(w.t, 'operator');
    w.personal.push(operator.email);
    const op = client(w.t, await signIn(w.t, operator));
    const listed = (await op.get('/admin/api/dead-letters')).json<{
      dead_letters: { id: string; queue: string }[];
    }>();
    expect(listed.dead_letters).toContainEqual(
      expect.objectContaining({ id: dead, queue: 'connector.run.dead' }),
    );
    const before = await lastSeq(w.t);
    const res = await op.post(`/admin/api/dead-letters/${dead}/retry`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: dead, queue: 'connector.run' });
    const task = await w
      .db()
      .selectFrom('request_tasks')
      .select('status')
      .where('request_id', '=', r.id)
      .where('system_id', '=', 'crm')
      .executeTakeFirstOrThrow();
    expect(task.status).toBe('pending');
    const req = await w
      .db()
      .selectFrom('privacy_requests')
      .select('status')
      .where('id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(req.status).toBe('executing');
    const [event] = await auditRows(w.t, { afterSeq: before });
    expect(event).toMatchObject({
      event_type: 'admin.access',
      actor_id: operator.id,
      request_id: r.id,
      data: { resource: 'dead_letter', action: 'retry' },
    });
    expect((await op.post(`/admin/api/dead-letters/${dead}/retry`)).statusCode).toBe(404);
    const health = (await op.get('/admin/api/health')).json<{
      status: string;
      queues: { name: string; waiting: number }[];
    }>();
    expect(health.status).toBe('ok');
    expect(health.queues.find((q) => q.name === 'connector.run')?.waiting).toBeGreaterThanOrEqual(1);
  });

  it('pages the dead-letter queue with a cursor, and runs a letter replayed twice at once only once', async () => {
    const r = await w.request({ state: 'completed' });
    const systems = ['crm-1', 'crm-2', 'crm-3', 'crm-4', 'crm-5'];
    await w
      .db()
      .insertInto('request_tasks')
      .values(
        systems.map((s) => ({
          request_id: r.id,
          system_id: s,
          action: 'erase',
          status: 'dead',
          counts: '{}',
        })),
      )
      .execute();
    const ours: string[] = [];
    for (const systemId of systems) {
      ours.push((await w.t.ctx.queue.send(w.db(), 'connector.run.dead', { requestId: r.id, systemId }))!);
    }
    const operator = await createAdmin(w.t, 'operator');
    w.personal.push(operator.email);
    const op = client(w.t, await signIn(w.t, operator));

    type Page = { dead_letters: { id: string; created_at: string }[]; next_cursor: string | null };
    const seen: string[] = [];
    const times: string[] = [];
    let pages = 0;
    for (let cursor: string | null = null; pages === 0 || cursor !== null; pages++) {
      const res = await op.get(`/admin/api/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<Page>();
      expect(page.dead_letters.length).toBeLessThanOrEqual(2);
      seen.push(...page.dead_letters.map((l) => l.id));
      times.push(...page.dead_letters.map((l) => l.created_at));
      cursor = page.next_cursor;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    // Oldest first across the pages (letters sent within one tick of the clock come in the order of their ids).
    expect(times).toEqual([...times].sort());
    expect(seen.filter((id) => ours.includes(id)).sort()).toEqual([...ours].sort());
    expect((await op.get('/admin/api/dead-letters?cursor=not-a-letter')).statusCode).toBe(400);

    const cli = await adminCli(w.t);
    try {
      const first = await cli.run(['dlq', 'list', '--limit', '2']);
      expect(first.code, first.stderr).toBe(0);
      const firstIds = (JSON.parse(first.stdout) as { id: string }[]).map((l) => l.id);
      expect(firstIds).toEqual(seen.slice(0, 2));
      const second = await cli.run(['dlq', 'list', '--limit', '2', '--after', firstIds[1]!]);
      expect((JSON.parse(second.stdout) as { id: string }[]).map((l) => l.id)).toEqual(seen.slice(2, 4));
      expect((await cli.run(['dlq', 'list', '--limit', 'many'])).code).toBe(2);
    } finally {
      await cli.close();
    }

    // The same letter, twice at once (a double click, two operators): one replay, one 404, one job queued.
    const twice = await Promise.all([
      op.post(`/admin/api/dead-letters/${ours[0]}/retry`),
      op.post(`/admin/api/dead-letters/${ours[0]}/retry`),
    ]);
    expect(twice.map((res) => res.statusCode).sort()).toEqual([200, 404]);
    const queued = await sql<{ n: string }>`select count(*) as n from pgboss.job where name = 'connector.run'
      and data->>'requestId' = ${r.id} and data->>'systemId' = 'crm-1'`.execute(w.db());
    expect(Number(queued.rows[0]!.n)).toBe(1);
  });

  it('summarises the compliance metrics of a tenant for the charts', async () => {
    w.offset = -2 * DAY;
    await w.request({ tenant: 'stats', state: 'completed' });
    w.offset = 0;
    await w.request({ tenant: 'stats', state: 'completed' });
    await w.request({ tenant: 'stats', state: 'completed' });
    await w.request({ tenant: 'stats' });
    await w
      .db()
      .transaction()
      .execute((tx) => bumpCounter(tx, 'stats', 'flow_completions', 200));
    const res = await w.as('po').get('/admin/api/metrics/summary?tenant=stats&days=7');
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json<{
      totals: Record<string, number>;
      completion_rate: number;
      trust_coefficient: number;
      deletion_latency_seconds: { p50: number; p99: number; count: number };
      per_day: { date: string; received: number; completed: number }[];
    }>();
    expect(s.totals).toEqual({ received: 4, completed: 3, failed: 0, open: 1, overdue: 0 });
    expect(s.completion_rate).toBe(1);
    expect(s.trust_coefficient).toBe(50); // 200 Flow completions : 4 erasure requests
    expect(s.deletion_latency_seconds.count).toBe(3);
    expect(s.deletion_latency_seconds.p50).toBeGreaterThanOrEqual(0);
    expect(s.deletion_latency_seconds.p99).toBeLessThan(60);
    expect(s.per_day).toHaveLength(7);
    const today = new Date().toISOString().slice(0, 10);
    const twoDaysAgo = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
    expect(s.per_day.at(-1)).toMatchObject({ date: today, received: 3, completed: 2 });
    expect(s.per_day.find((d) => d.date === twoDaysAgo)).toMatchObject({ received: 1, completed: 1 });
    expect(s.per_day.reduce((n, d) => n + d.received, 0)).toBe(4);
  });

  it('writes nothing personal into audit rows or logs', async () => {
    await expectNothingPersonal(w);
  });
});
