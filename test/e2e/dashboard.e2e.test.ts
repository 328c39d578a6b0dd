import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { DASHBOARD_CSP } from '../../src/modules/admin/web.routes.js';
import { buildDashboard, hasChromium, launchChromium, screenshot } from '../helpers/browser.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { requestView, verifiedRequest, writeConfig } from '../helpers/runner-fixtures.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  type TestApp,
} from '../helpers/test-app.js';
import { createAdmin, makeRequest, totpAt, type TestAdmin } from '../integration/admin.fixtures.js';

/**
 * The dashboard in a real browser (Debian's headless Chromium) against a real, listening flowguard: sign-in
 * with TOTP, the queue's overdue row, a request's timeline, the dead-letter queue's retry (a PostgreSQL system
 * behind a cut fault proxy, as in dlq.int.test.ts) until the request completes, audit verify, the charts, and
 * what an unauthenticated browser gets. Screenshots go to test-artifacts/.
 */
describe.runIf(hasService('postgres') && hasChromium())('dashboard in headless Chromium', () => {
  let t: TestApp;
  let dir: string;
  let biz: { url: string; drop: () => Promise<void> };
  let pgc: pg.Client;
  let proxy: FaultProxy;
  let browser: Browser;
  let base: string;
  const admins: Record<'po' | 'op' | 'aud' | 'phone', TestAdmin> = {} as never;
  let overdue: { id: string; reference: string };
  let dead: { id: string; reference: string };
  let soon: { id: string; reference: string };
  const cspViolations: string[] = [];

  beforeAll(async () => {
    const built = buildDashboard();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-e2e-'));
    biz = await createPgDatabase();
    pgc = new pg.Client({ connectionString: biz.url });
    await pgc.connect();
    await pgc.query('create table sessions (id serial primary key, whatsapp_id text not null, state text)');
    proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
    const file = writeConfig(
      dir,
      `
queues:
  connector.run: { retryLimit: 1, retryDelaySeconds: 1 }
systems:
  - id: app-db
    type: postgres
    url: ${biz.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`)}
    collections:
      - { table: sessions, identity: { column: whatsapp_id, format: digits } }
`,
    );
    await built;
    t = await createTestApp('pglite', { FLOWGUARD_CONFIG: file });
    await startConnectorWorker(t.ctx);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    admins.po = await createAdmin(t, 'privacy_officer');
    admins.op = await createAdmin(t, 'operator');
    admins.aud = await createAdmin(t, 'auditor');
    // Each TOTP step is accepted once per admin: a second sign-in within 30 s needs another admin.
    admins.phone = await createAdmin(t, 'privacy_officer');

    // An overdue request: awaiting the person's confirmation, its deadline moved into the past.
    // Another one due within 3 days (amber).
    const moveDue = async (id: string, days: number) => {
      const due = new Date(Date.now() + days * 86_400_000);
      await t.ctx.database.db
        .updateTable('privacy_requests')
        .set({ due_at: due, original_due_at: due })
        .where('id', '=', id)
        .execute();
    };
    overdue = await makeRequest(t, { state: 'awaiting' });
    await moveDue(overdue.id, -2);
    soon = await makeRequest(t, { state: 'awaiting' });
    await moveDue(soon.id, 2);
    // A dead-lettered task: the system is cut, one retry, then the dead-letter queue.
    const p = fakePerson();
    await pgc.query('insert into sessions (whatsapp_id, state) values ($1, $2)', [p.waId, 'booking']);
    proxy.cut();
    dead = await verifiedRequest(t, 'erasure', p);
    for (let i = 0; (await requestView(t, dead.id)).status !== 'failed'; i++) {
      if (i > 300) throw new Error('the request did not fail');
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await proxy?.close();
    await pgc?.end();
    await biz?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(viewport = { width: 1280, height: 900 }): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
    return { ctx, page };
  }

  async function signIn(page: Page, admin: TestAdmin): Promise<void> {
    await page.goto(`${base}/admin/`);
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByLabel('Authenticator code').fill(await totpAt(t, admin));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  it('serves the dashboard with a strict CSP, immutable assets and no inline script', async () => {
    const res = await fetch(`${base}/admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${base}${asset}`);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${base}/admin/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/admin/requests/x`)).status).toBe(200);
    expect((await fetch(`${base}/admin/api/nope`)).status).toBe(404);
  });

  it('shows an unauthenticated browser only the sign-in screen, and every API call it makes is 401', async () => {
    const { ctx, page } = await open();
    const apiStatuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/admin/api/')) apiStatuses.push(r.status());
    });
    await page.goto(`${base}/admin/#/dlq`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.locator('#nav a').count()).toBe(0);
    expect(await page.locator('table').count()).toBe(0);
    for (const url of ['/admin/api/requests', '/admin/api/dead-letters', '/admin/api/audit/verify']) {
      expect(await page.evaluate(async (u) => (await fetch(u)).status, url)).toBe(401);
    }
    expect(apiStatuses.length).toBeGreaterThan(0);
    expect(apiStatuses.every((s) => s === 401)).toBe(true);
    // A wrong code is refused with a message announced to screen readers, and no session.
    await page.getByLabel('E-mail').fill(admins.po.email);
    await page.getByLabel('Password').fill(admins.po.password);
    await page.getByLabel('Authenticator code').fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid');
    expect(await page.locator('#nav a').count()).toBe(0);
    await screenshot(page, 'sign-in');
    await ctx.close();
  });

  it('signs in with TOTP, finds the overdue request, retries the dead letter and sees the request complete', async () => {
    const po = await open();
    await signIn(po.page, admins.po);
    const row = po.page.locator(`tr[data-request="${overdue.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('class')).toBe('overdue');
    expect(await row.textContent()).toContain('Overdue');
    expect(await po.page.locator(`tr[data-request="${soon.id}"]`).getAttribute('class')).toBe('due-soon');
    expect(await po.page.locator(`tr[data-request="${dead.id}"]`).getAttribute('data-deadline')).toBe('ok');
    await screenshot(po.page, 'queue');
    await row.getByRole('link', { name: overdue.reference }).click();
    await po.page.getByRole('heading', { name: `Request ${overdue.reference}` }).waitFor();
    expect(await po.page.locator('main').textContent()).toContain('Overdue');
    expect(await po.page.locator('.timeline li').count()).toBeGreaterThan(0);

    // The failed request's timeline: the system task is dead after its attempts, with its last error.
    await po.page.goto(`${base}/admin/#/requests/${dead.id}`);
    const task = po.page.locator('tr[data-system="app-db"]');
    await task.waitFor();
    expect(await task.textContent()).toContain('dead');
    expect(await task.textContent()).toContain('sql_connection');
    await screenshot(po.page, 'request-failed');

    // The operator (another role, another browser profile) retries it from the dead-letter queue.
    const op = await open();
    await signIn(op.page, admins.op);
    await op.page.getByRole('link', { name: 'Dead letters' }).click();
    const letter = op.page.locator('tr', { hasText: dead.id });
    await letter.waitFor();
    await screenshot(op.page, 'dead-letters');
    proxy.restore();
    await letter.getByRole('button', { name: /^Retry/ }).click();
    await expect.poll(() => op.page.locator('#status').textContent()).toContain('sent back');
    await expect.poll(() => op.page.locator('tr', { hasText: dead.id }).count()).toBe(0);

    // The privacy officer's screen shows it completed (reloading as a person would).
    await expect
      .poll(
        async () => {
          await po.page.reload();
          return po.page.locator('#request-status').textContent({ timeout: 5_000 });
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe('completed');
    expect(await task.textContent()).toContain('done');
    await screenshot(po.page, 'request-completed');

    // Charts of the metrics summary.
    await po.page.getByRole('link', { name: 'Metrics' }).click();
    await po.page.locator('figure.chart-card svg').first().waitFor();
    expect(await po.page.locator('figure.chart-card svg').count()).toBe(4);
    expect(await po.page.locator('figure.chart-card path.line').count()).toBeGreaterThan(0);
    await screenshot(po.page, 'metrics');
    await op.ctx.close();
    await po.ctx.close();
    expect(cspViolations).toEqual([]);
  });

  it('verifies the audit chain for an auditor, driven by the keyboard', async () => {
    const { ctx, page } = await open();
    await signIn(page, admins.aud);
    await page.getByRole('link', { name: 'Audit' }).click();
    const verify = page.getByRole('button', { name: 'Verify the chain' });
    await verify.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#verify-result').textContent()).toMatch(/Chain intact: \d+ events/);
    await screenshot(page, 'audit');
    // No dead-letter screen for an auditor, and the API agrees.
    expect(await page.getByRole('link', { name: 'Dead letters' }).count()).toBe(0);
    expect(await page.evaluate(async () => (await fetch('/admin/api/dead-letters')).status)).toBe(403);
    await ctx.close();
  });

  it('fits a 375 px phone without horizontal scrolling', async () => {
    const { ctx, page } = await open({ width: 375, height: 812 });
    await signIn(page, admins.phone);
    await page.locator(`tr[data-request="${overdue.id}"]`).waitFor();
    const overflow = () =>
      page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, 'phone-queue');
    await page.goto(`${base}/admin/#/requests/${dead.id}`);
    await page.locator('tr[data-system="app-db"]').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${base}/admin/#/metrics`);
    await page.locator('figure.chart-card svg').first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, 'phone-metrics');
    await ctx.close();
  });
});
