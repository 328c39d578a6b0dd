import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { contact, delivery, postWebhook, textMessage } from '../helpers/webhook-payloads.js';

describe.each(storeKinds())('health, readiness and metrics on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('exposes requests by route and status and webhook events by type in Prometheus format', async () => {
    const p = fakePerson();
    await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hi')] }));
    await postWebhook(t, '{}', { signature: 'sha256=00' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(
      /flowguard_http_requests_total\{route="\/webhooks\/whatsapp",method="POST",status="200"\} 1/,
    );
    expect(text).toMatch(
      /flowguard_http_requests_total\{route="\/webhooks\/whatsapp",method="POST",status="401"\} 1/,
    );
    expect(text).toMatch(/flowguard_webhook_events_total\{type="message",outcome="ingested"\} 1/);
    expect(text).toMatch(
      /flowguard_http_request_duration_seconds_bucket\{le="0.1",route="\/webhooks\/whatsapp"\}/,
    );
    expect(text).toContain('# TYPE flowguard_flows_endpoint_duration_seconds histogram');
    expect(text).not.toContain(p.waId);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const u = await t.app.inject({ method: 'GET', url: '/nope' });
    expect(u.statusCode).toBe(404);
    expect(u.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });

  it('stays live while the store is unreachable, but not ready', async () => {
    const other = await createTestApp(kind);
    try {
      expect((await other.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      await other.ctx.queue.stop();
      await other.ctx.database.close();
      const ready = await other.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not_ready', store: 'unreachable' });
      expect((await other.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await other.close().catch(() => undefined);
    }
  });
});
