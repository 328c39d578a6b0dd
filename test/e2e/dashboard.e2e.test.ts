import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'otplib';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { createAdminDeps, createAdminUser } from '../../src/modules/admin/index.js';
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
import { createAdmin, makeRequest, PASSWORD, totpAt, type TestAdmin } from '../integration/admin.fixtures.js';
import {
  dialog,
  focusedId,
  overflow,
  pageThroughAudit,
  pageThroughQueue,
  scanEnrolment,
} from './dashboard.steps.js';

/** How long an action's visible result may take on a busy machine. */
const SOON = { timeout: 10_000 };

/**
 * The dashboard in a real browser (Debian's headless Chromium) against a real, listening flowguard: sign-in
 * with TOTP, the queue's overdue row, a request's timeline, the dead-letter queue's retry (a PostgreSQL system
 * behind a cut fault proxy, as in dlq.int.test.ts) until the request completes, audit verify, the charts, and
 * what an unauthenticated browser gets; the set-up of an authenticator from its QR code, the decisions on a
 * request (approve with a step-up, deny, extend) in dialogs on a phone, and paging. Screenshots go to
 * test-artifacts/.
 */
describe.runIf(hasService('postgres') && hasChromium())('dashboard in headless Chromium', () => {
  let t: TestApp;
  let dir: string;
  let biz: { url: string; drop: () => Promise<void> };
  let pgc: pg.Client;
  let proxy: FaultProxy;
  let browser: Browser;
  let base: string;
  const admins: Record<'po' | 'op' | 'aud' | 'phone' | 'dec' | 'pager' | 'aud2', TestAdmin> = {} as never;
  /** The app's clock runs ahead by this much (to let the second factor go stale). */
  let offset = 0;
  let overdue: { id: string; reference: string };
  const decide: Record<'approve' | 'deny' | 'extend', { id: string; reference: string }> = {} as never;
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
    t = await createTestApp(
      'pglite',
      { FLOWGUARD_CONFIG: file },
      { clock: () => new Date(Date.now() + offset) },
    );
    await startConnectorWorker(t.ctx);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    admins.po = await createAdmin(t, 'privacy_officer');
    admins.op = await createAdmin(t, 'operator');
    admins.aud = await createAdmin(t, 'auditor');
    // Each TOTP step is accepted once per admin: a second sign-in within 30 s needs another admin.
    admins.phone = await createAdmin(t, 'privacy_officer');
    admins.dec = await createAdmin(t, 'privacy_officer');
    admins.pager = await createAdmin(t, 'privacy_officer');
    admins.aud2 = await createAdmin(t, 'auditor');
    for (const key of ['approve', 'deny', 'extend'] as const)
      decide[key] = await makeRequest(t, { state: 'awaiting' });
    // Enough requests awaiting confirmation for two pages of ten.
    for (let i = 0; i < 12; i++) await makeRequest(t, { state: 'awaiting' });

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
    // An auditor reads a request but gets no decision buttons.
    await page.goto(`${base}/admin/#/requests/${decide.extend.id}`);
    await page.locator('#request-title').waitFor();
    expect(await page.locator('.decisions button').count()).toBe(0);
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
  it('sets up an authenticator from the QR code at the first sign-in, shows the recovery codes once, then the queue', async () => {
    const email = `enrol-${Date.now()}@flowguard.test`;
    const created = await createAdminUser(t.ctx.database.db, createAdminDeps(t.ctx), {
      email,
      password: PASSWORD,
      role: 'privacy_officer',
      enrolAtSignIn: true,
      actor: { type: 'cli' },
    });
    const { ctx, page } = await open({ width: 375, height: 812 });
    await page.goto(`${base}/admin/`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator' }).waitFor();
    expect(await page.locator('#nav a').count()).toBe(0);
    expect(await page.evaluate(async () => (await fetch('/admin/api/requests')).status)).toBe(403);
    const secret = await scanEnrolment(page);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'enrol-qr');
    const code = await generate({ secret, epoch: Math.floor(t.ctx.clock().getTime() / 1000) });
    await page.getByLabel('Code from your app').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#enrol-error').textContent(), SOON).toContain('not accepted');
    await page.getByLabel('Code from your app').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    const go = page.getByRole('button', { name: 'Continue' });
    expect(await go.isDisabled()).toBe(true);
    await screenshot(page, 'enrol-recovery-codes');
    await page.getByLabel('I have saved these codes').check();
    await go.click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    // New recovery codes from the account screen, with a code of a later time step.
    offset += 30_000;
    await page.getByRole('link', { name: 'Account' }).click();
    await page
      .getByLabel('Authenticator code')
      .fill(await generate({ secret, epoch: Math.floor(t.ctx.clock().getTime() / 1000) }));
    await page.getByRole('button', { name: 'Get new recovery codes' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    const row = await t.ctx.database.db
      .selectFrom('admin_users')
      .select('mfa_enrolled_at')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.mfa_enrolled_at).not.toBeNull();
    await ctx.close();
  });

  it('denies, extends and approves (after a step-up) in dialogs on a 375 px phone, by keyboard too', async () => {
    const { ctx, page } = await open({ width: 375, height: 812 });
    await signIn(page, admins.dec);
    // Deny: the dialog is labelled, takes focus, closes on Escape and gives focus back to its button.
    await page.goto(`${base}/admin/#/requests/${decide.deny.id}`);
    await page.getByRole('button', { name: 'Deny…' }).click();
    let d = await dialog(page, `Deny request ${decide.deny.reference}`);
    expect(await focusedId(page)).toBe(await d.getByLabel('Reason').getAttribute('id'));
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await focusedId(page)).toBe('deny');
    await page.keyboard.press('Enter');
    d = await dialog(page, `Deny request ${decide.deny.reference}`);
    await d.getByLabel('Reason').selectOption('excessive');
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'phone-deny-dialog');
    await d.getByRole('button', { name: 'Deny', exact: true }).click();
    await expect.poll(() => page.locator('#request-status').textContent(), SOON).toBe('denied');
    expect(await page.locator('#status').textContent()).toContain('denied (excessive)');
    expect(await page.locator('.decisions').count()).toBe(0);
    expect((await requestView(t, decide.deny.id)).status).toBe('denied');

    // Extend: days and reason, submitted with Enter.
    await page.goto(`${base}/admin/#/requests/${decide.extend.id}`);
    const dueBefore = Date.parse((await requestView(t, decide.extend.id)).due_at);
    await page.getByRole('button', { name: 'Extend deadline…' }).click();
    d = await dialog(page, `Extend the deadline of ${decide.extend.reference}`);
    await d.getByLabel('Reason').selectOption('complexity');
    await d.getByLabel('Extra days').fill('14');
    await d.getByLabel('Extra days').press('Enter');
    await expect.poll(() => page.locator('#status').textContent(), SOON).toContain('now due');
    expect(await page.locator('.facts').textContent()).toContain('(extended)');
    const dueAfter = Date.parse((await requestView(t, decide.extend.id)).due_at);
    expect(dueAfter - dueBefore).toBe(14 * 86_400_000);

    // Approve needs the second factor from the last 15 minutes: the dialog asks for a code when the API says so.
    offset += 16 * 60_000;
    await page.goto(`${base}/admin/#/requests/${decide.approve.id}`);
    await page.getByRole('button', { name: 'Approve…' }).click();
    d = await dialog(page, `Approve request ${decide.approve.reference}`);
    expect(await d.getByLabel('Authenticator code').isVisible()).toBe(false);
    await d.getByLabel('How you verified the person').selectOption('verified_by_document');
    await d.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => d.getByRole('alert').textContent(), SOON).toContain('Confirm it is you');
    expect(await focusedId(page)).toBe(await d.getByLabel('Authenticator code').getAttribute('id'));
    await page.keyboard.type(await totpAt(t, admins.dec));
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'phone-approve-step-up');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#status').textContent(), SOON).toContain('approved');
    expect(await page.locator('#request-status').textContent()).not.toBe('awaiting verification');
    expect(await page.locator('.timeline').textContent()).toContain('request.approved');
    expect((await requestView(t, decide.approve.id)).verification).toBe('staff_approval');
    await ctx.close();
    expect(cspViolations).toEqual([]);
  });

  it('pages through the queue and the audit log, the page kept in the URL', async () => {
    const { ctx, page } = await open();
    await signIn(page, admins.pager);
    await page.getByLabel('Status').selectOption('awaiting_verification');
    await page.getByLabel('Per page').selectOption('10');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tr[data-request]').count()).toBe(10);
    await pageThroughQueue(page);
    await ctx.close();

    const aud = await open();
    await signIn(aud.page, admins.aud2);
    await aud.page.getByRole('link', { name: 'Audit' }).click();
    await pageThroughAudit(aud.page);
    await aud.ctx.close();
    expect(cspViolations).toEqual([]);
  });
});
