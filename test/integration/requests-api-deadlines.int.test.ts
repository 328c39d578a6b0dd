import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBusinessDays, addCalendarMonths, addDays } from '../../src/modules/dsr/deadlines.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { api, apiKey, cliFor } from './requests.fixtures.js';

const DAY = 86_400_000;

/** Prometheus text → the value of one sample, e.g. `flowguard_requests_overdue{type="erasure"}`. */
function sample(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/**
 * Deadlines come from the tenant's regimes (GDPR by default: one calendar month; CCPA: 45 days, opt-outs 15
 * business days), and a clock moved past them shows the request overdue: in its view, the queue, the CLI and
 * the metrics.
 */
describe.each(storeKinds())('request deadlines on %s', (kind) => {
  let gdpr: TestApp;
  let ccpa: TestApp;
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  beforeAll(async () => {
    gdpr = await createTestApp(kind, {}, { clock });
    // The YAML's tenant settings apply to the default tenant.
    const dir = fs.mkdtempSync(path.join(gdpr.dataDir, 'cfg-'));
    const yaml = path.join(dir, 'flowguard.yaml');
    fs.writeFileSync(yaml, 'tenant:\n  regimes: [ccpa]\n');
    ccpa = await createTestApp(kind, { FLOWGUARD_CONFIG: yaml });
  });
  afterAll(async () => {
    await gdpr?.close();
    await ccpa?.close();
  });

  const create = async (t: TestApp, key: string, type: string) => {
    const res = await api(t, key).post('/v1/requests', { type, phone: fakePerson().e164 });
    expect(res.statusCode).toBe(202);
    return (await api(t, key).get(`/v1/requests/${res.json<{ id: string }>().id}`)).json<{
      id: string;
      regime: string;
      received_at: string;
      due_at: string;
      overdue: boolean;
    }>();
  };

  it('gives a GDPR request one calendar month and shows it overdue, in the queue, the CLI and the gauges, after', async () => {
    const key = await apiKey(gdpr);
    const admin = await apiKey(gdpr, 'admin');
    const r = await create(gdpr, key, 'erasure');
    expect(r.regime).toBe('gdpr');
    expect(r.due_at).toBe(addCalendarMonths(new Date(r.received_at), 1).toISOString());
    expect(r.overdue).toBe(false);
    const metricsNow = (await gdpr.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(metricsNow, 'flowguard_requests_overdue{type="erasure"}')).toBe(0);
    expect(sample(metricsNow, 'flowguard_requests_open{status="awaiting_verification"}')).toBe(1);

    offset = 40 * DAY;
    try {
      expect((await api(gdpr, key).get(`/v1/requests/${r.id}`)).json()).toMatchObject({ overdue: true });
      const queue = (await api(gdpr, key).get('/v1/requests?overdue=true')).json<{
        requests: { id: string; overdue: boolean }[];
      }>();
      expect(queue.requests).toEqual([expect.objectContaining({ id: r.id, overdue: true })]);
      const metrics = (await gdpr.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sample(metrics, 'flowguard_requests_overdue{type="erasure"}')).toBe(1);
      expect(sample(metrics, 'flowguard_requests_overdue{type="access"}')).toBe(0);
      expect(sample(metrics, 'flowguard_requests_open{status="awaiting_verification"}')).toBe(1);
      // Too late to extend: the person had to be told within the first month.
      const late = await api(gdpr, admin).post(`/v1/requests/${r.id}/extend`, {
        days: 30,
        reason_code: 'complexity',
      });
      expect(late.statusCode).toBe(409);
    } finally {
      offset = 0;
    }

    // The CLI is another process with its own (real) clock: there, the request's time really has run out.
    await gdpr.ctx.database.db
      .updateTable('privacy_requests')
      .set({ due_at: new Date(Date.now() - DAY), original_due_at: new Date(Date.now() - DAY) })
      .where('id', '=', r.id)
      .execute();
    const cli = await cliFor(gdpr);
    try {
      const list = await cli.run('requests', 'list', '--overdue');
      expect(list.code).toBe(0);
      const lines = list.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; overdue: boolean });
      expect(lines).toEqual([expect.objectContaining({ id: r.id, overdue: true })]);
      const table = await cli.run('requests', 'list', '--table');
      expect(table.stdout).toMatch(/^ID\s+REFERENCE\s+TENANT\s+TYPE\s+STATUS\s+DUE\s+OVERDUE/);
      expect(table.stdout.split('\n').find((l) => l.startsWith(r.id))).toMatch(/\sOVERDUE$/);
    } finally {
      await cli.close();
    }
  });

  it('gives CCPA requests 45 days (opt-outs 15 business days) and allows one extension of up to 45', async () => {
    const key = await apiKey(ccpa);
    const admin = await apiKey(ccpa, 'admin');
    const r = await create(ccpa, key, 'access');
    expect(r.regime).toBe('ccpa');
    expect(r.due_at).toBe(addDays(new Date(r.received_at), 45).toISOString());
    const ext = await api(ccpa, admin).post(`/v1/requests/${r.id}/extend`, {
      days: 60,
      reason_code: 'number_of_requests',
    });
    expect(ext.statusCode).toBe(200);
    expect(ext.json().due_at).toBe(addDays(new Date(r.received_at), 90).toISOString());
    const again = await api(ccpa, admin).post(`/v1/requests/${r.id}/extend`, {
      days: 1,
      reason_code: 'complexity',
    });
    expect(again.statusCode).toBe(409);

    const optOut = await api(ccpa, key).post('/v1/requests', { type: 'opt_out', phone: fakePerson().e164 });
    const view = (await api(ccpa, key).get(`/v1/requests/${optOut.json<{ id: string }>().id}`)).json<{
      received_at: string;
      due_at: string;
    }>();
    expect(view.due_at).toBe(addBusinessDays(new Date(view.received_at), 15).toISOString());
  });
});
