import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeadlines } from '../../src/modules/alerts/scheduled-checks.js';
import { createDsrDeps, createRequest, extendRequest } from '../../src/modules/dsr/index.js';
import {
  requestView,
  SOON,
  startAlertReceiver,
  verifiedRequest,
  writeConfig,
  type AlertReceiver,
} from '../helpers/runner-fixtures.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * Deadlines keep ticking whatever the systems do: the scheduled check warns once per request before the due
 * date and once more when it has passed, posts Slack-compatible JSON without personal data, and counts each
 * alert in /metrics. Closed requests raise nothing.
 */
describe.each(storeKinds())('deadline alerts (%s)', (kind) => {
  let t: TestApp;
  let dir: string;
  let alerts: AlertReceiver;
  let now = new Date();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-alerts-'));
    alerts = await startAlertReceiver();
    const file = writeConfig(dir, `alerts:\n  webhookUrl: ${alerts.url}\n  deadlineWarningDays: 3\n`);
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: file }, { clock: () => now });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await alerts?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A request staff entered for the person: it stays open, awaiting their confirmation. */
  async function openRequest(p: { e164: string }) {
    const deps = createDsrDeps(t.ctx);
    const tenant = await t.ctx.tenants.get('default');
    return t.ctx.database.db.transaction().execute((tx) =>
      createRequest(tx, deps, {
        tenant,
        type: 'erasure',
        channel: 'cli',
        subject: { identity: { kind: 'phone', value: p.e164 } },
        verification: null,
        actor: { type: 'cli' },
      }),
    );
  }

  const alertsTotal = async (alertKind: string) => {
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const m = new RegExp(`flowguard_alerts_total\\{kind="${alertKind}"\\} (\\d+)`).exec(body);
    return Number(m?.[1] ?? 0);
  };

  it('warns once before the due date and once after it, without personal data, and counts both', async () => {
    const [p, q] = [fakePerson(), fakePerson()];
    const open = await openRequest(p);
    expect(open.status).toBe('awaiting_verification');
    const closed = await verifiedRequest(t, 'erasure', q); // no data-map systems: completed at once
    expect(closed.status).toBe('completed');
    const due = new Date((await requestView(t, open.id)).due_at);

    now = new Date(due.getTime() - 10 * 86_400_000);
    expect(await checkDeadlines(t.ctx)).toBe(0);

    now = new Date(due.getTime() - 2 * 86_400_000);
    expect(await checkDeadlines(t.ctx)).toBe(1);
    now = new Date(now.getTime() + 3_600_000);
    expect(await checkDeadlines(t.ctx)).toBe(0);

    now = new Date(due.getTime() + 60_000);
    expect(await checkDeadlines(t.ctx)).toBe(1);
    expect(await checkDeadlines(t.ctx)).toBe(0);

    await expect.poll(() => alerts.received.length, SOON).toBe(2);
    const [near, passed] = alerts.received as [{ text: string }, { text: string }];
    expect(near.text).toContain(open.reference);
    expect(near.text).toMatch(/near/);
    expect(passed.text).toContain(open.reference);
    expect(passed.text).toMatch(/past/);
    for (const a of alerts.received) {
      expect(Object.keys(a)).toEqual(['text']);
      expect(a.text).not.toContain(closed.reference);
      for (const secret of [p.e164, p.waId, p.name, p.bsuid]) expect(a.text).not.toContain(secret);
    }
    expect(await alertsTotal('deadline_near')).toBe(1);
    expect(await alertsTotal('deadline_passed')).toBe(1);
  });

  it('warns again when an extended deadline nears in its turn', async () => {
    const p = fakePerson();
    const open = await openRequest(p);
    const due = new Date((await requestView(t, open.id)).due_at);
    const before = alerts.received.length;
    now = new Date(due.getTime() - 86_400_000);
    expect(await checkDeadlines(t.ctx)).toBe(1);
    // The request is extended by two months (GDPR Art. 12(3)); its new due date gets its own warning.
    const ext = await t.ctx.database.db.transaction().execute((tx) =>
      extendRequest(tx, createDsrDeps(t.ctx), {
        requestId: open.id,
        days: 60,
        reasonCode: 'complexity',
        actor: { type: 'cli' },
      }),
    );
    const extended = new Date(ext.due_at);
    expect(extended.getTime()).toBeGreaterThan(due.getTime());
    expect(await checkDeadlines(t.ctx)).toBe(0);
    now = new Date(extended.getTime() - 86_400_000);
    expect(await checkDeadlines(t.ctx)).toBe(1);
    await expect
      .poll(() => alerts.received.slice(before).filter((a) => a.text.includes(open.reference)).length, SOON)
      .toBe(2);
  });
});
