import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  freePort,
  requestView,
  SOON,
  startAlertReceiver,
  systemOf,
  untilStatus,
  verifiedRequest,
  writeConfig,
  type AlertReceiver,
} from '../helpers/runner-fixtures.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { cliFor } from './requests.fixtures.js';

/**
 * The business's own service accepts an erasure (202) and confirms it later on the callback URL flowguard sent
 * it: the task stays running until then, the signed confirmation completes it (and the request), a failure
 * report dead-letters it, and a confirmation that never comes is settled by reading back on the job's retries.
 */
const SECRET = 'http-callback-secret-0123456789';

const sign = (secret: string, body: string) =>
  `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;

describe.each(storeKinds())('http confirmations on the callback URL (%s)', (kind) => {
  let t: TestApp;
  let dir: string;
  let port: number;
  let receiver: HttpReceiver;
  let alerts: AlertReceiver;
  let cli: Awaited<ReturnType<typeof cliFor>>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-callback-'));
    receiver = await startHttpReceiver(SECRET);
    receiver.mode = 'async';
    alerts = await startAlertReceiver();
    port = await freePort();
    const file = writeConfig(
      dir,
      `
queues:
  connector.run: { retryLimit: 2, retryDelaySeconds: 1 }
alerts:
  webhookUrl: ${alerts.url}
systems:
  - id: bot
    type: http
    url: ${receiver.url}
    secret: ${SECRET}
`,
    );
    // No public URL: the callback URL is http://HOST:PORT of this very server.
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: file, PORT: String(port), HOST: '127.0.0.1' });
    await t.app.listen({ port, host: '127.0.0.1' });
    await startConnectorWorker(t.ctx);
    cli = await cliFor(t, { FLOWGUARD_CONFIG: file });
  }, 120_000);

  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await receiver?.close();
    await alerts?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The erase request the receiver accepted for this flowguard request (with its callback URL). */
  async function acceptedErase(requestId: string) {
    let body: Record<string, unknown> | undefined;
    await expect
      .poll(() => {
        body = receiver.received.find((r) => r.action === 'erase' && r.body.request_id === requestId)?.body;
        return body;
      }, SOON)
      .toBeDefined();
    return body!;
  }

  function confirmation(requestId: string, fields: Record<string, unknown> = {}) {
    return JSON.stringify({
      request_id: requestId,
      system_id: 'bot',
      action: 'erase',
      status: 'done',
      counts: { profiles: 1 },
      timestamp: Math.floor(Date.now() / 1000),
      ...fields,
    });
  }

  const post = (url: string, body: string, secret = SECRET) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'x-flowguard-signature-256': sign(secret, body) },
      payload: body,
    });

  it('keeps the task running after a 202, completes it from the signed confirmation, and answers a repeat the same', async () => {
    const p = fakePerson();
    receiver.seed('profiles', p.waId, { name: p.name });
    const req = await verifiedRequest(t, 'erasure', p);
    const erase = await acceptedErase(req.id);
    expect(erase.callback_url).toBe(`http://127.0.0.1:${port}/callbacks/systems/bot/${req.id}`);
    await expect
      .poll(async () => systemOf(await requestView(t, req.id), 'bot'), SOON)
      .toMatchObject({ status: 'running', counts: { pending: 0 } });
    expect((await requestView(t, req.id)).status).toBe('executing');

    // The receiver erases and confirms over real HTTP on the URL it was given.
    expect(await receiver.confirmPending()).toEqual([200]);
    const done = await untilStatus(t, req.id, 'completed', 10_000);
    expect(systemOf(done, 'bot')).toMatchObject({ status: 'done', counts: { deleted: 1 } });
    const events = await t.ctx.database.db
      .selectFrom('audit_log')
      .select(['event_type', 'data'])
      .where('request_id', '=', req.id)
      .where('event_type', '=', 'erasure.system')
      .execute();
    expect(events.map((e) => (e.data as { action: string }).action).sort()).toEqual([
      'deleted',
      'deleted',
      'pending',
    ]);

    // A repeated (or late) confirmation changes nothing.
    const again = await post(
      `/callbacks/systems/bot/${req.id}`,
      confirmation(req.id, { counts: { profiles: 5 } }),
    );
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'done', changed: false });
    expect(systemOf(await requestView(t, req.id), 'bot').counts).toEqual({ deleted: 1 });
  });

  it('refuses bad and stale signatures (401), unknown systems and requests (404) and a body for another request (400)', async () => {
    const p = fakePerson();
    receiver.seed('profiles', p.waId, { name: p.name }); // so the worker's read-backs do not settle it meanwhile
    const req = await verifiedRequest(t, 'erasure', p);
    await acceptedErase(req.id);
    const url = `/callbacks/systems/bot/${req.id}`;
    expect((await post(url, confirmation(req.id), 'not-the-secret-of-this-system')).statusCode).toBe(401);
    const stale = confirmation(req.id, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect((await post(url, stale)).statusCode).toBe(401);
    expect((await post(`/callbacks/systems/nope/${req.id}`, confirmation(req.id))).statusCode).toBe(404);
    const unknown = crypto.randomUUID();
    expect((await post(`/callbacks/systems/bot/${unknown}`, confirmation(unknown))).statusCode).toBe(404);
    expect((await post(url, confirmation(crypto.randomUUID()))).statusCode).toBe(400);
    expect(systemOf(await requestView(t, req.id), 'bot').status).not.toBe('done');
    // Finish it properly so the worker's read-backs stop.
    expect(await receiver.confirmPending()).toEqual([200]);
    await untilStatus(t, req.id, 'completed', 10_000);
  });

  it('dead-letters the task on a failure report, alerts, and asks the system again on replay', async () => {
    const p = fakePerson();
    receiver.seed('orders', p.e164, { total: 10 });
    const req = await verifiedRequest(t, 'erasure', p);
    await acceptedErase(req.id);
    const res = await post(
      `/callbacks/systems/bot/${req.id}`,
      confirmation(req.id, { status: 'failed', reason: 'store_locked', counts: undefined }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'dead', changed: true });
    const failed = await requestView(t, req.id);
    expect(failed.status).toBe('failed');
    expect(systemOf(failed, 'bot')).toMatchObject({ status: 'dead', last_error: 'receiver_store_locked' });
    await expect.poll(() => alerts.received.some((a) => a.text.includes(req.reference)), SOON).toBe(true);
    const alert = alerts.received.find((a) => a.text.includes(req.reference))!;
    for (const secret of [p.e164, p.waId, p.name]) expect(alert.text).not.toContain(secret);

    const letters = JSON.parse((await cli.run('dlq', 'list')).stdout) as {
      id: string;
      data: { requestId: string };
    }[];
    const letter = letters.find((l) => l.data.requestId === req.id);
    expect(letter).toBeDefined();
    const before = receiver.received.filter(
      (r) => r.action === 'erase' && r.body.request_id === req.id,
    ).length;
    expect((await cli.run('dlq', 'retry', letter!.id)).code).toBe(0);
    await expect
      .poll(
        () => receiver.received.filter((r) => r.action === 'erase' && r.body.request_id === req.id).length,
        SOON,
      )
      .toBe(before + 1);
    // The first acceptance is still on the receiver's list: both are confirmed; the second changes nothing.
    expect(await receiver.confirmPending()).toEqual([200, 200]);
    const done = await untilStatus(t, req.id, 'completed', 10_000);
    expect(systemOf(done, 'bot')).toMatchObject({ status: 'done', counts: { deleted: 1 } });
  });

  it('settles a lost confirmation by reading back on the next attempt, and dead-letters one that never comes', async () => {
    // The receiver erases but its confirmation is lost (refused: wrong secret): the read-back finds nothing.
    const lost = fakePerson();
    receiver.seed('profiles', lost.waId, { name: lost.name });
    const first = await verifiedRequest(t, 'erasure', lost);
    await acceptedErase(first.id);
    expect(await receiver.confirmPending({ secret: 'a-secret-flowguard-does-not-know' })).toEqual([401]);
    const done = await untilStatus(t, first.id, 'completed', 15_000);
    expect(systemOf(done, 'bot')).toMatchObject({ status: 'done', counts: { verified: 0 } });
    expect(systemOf(done, 'bot').attempts).toBeGreaterThanOrEqual(2);

    // Nothing is ever erased or confirmed: after the last attempt the task is dead and waits for a replay.
    const stuck = fakePerson();
    receiver.seed('profiles', stuck.waId, { name: stuck.name });
    const second = await verifiedRequest(t, 'erasure', stuck);
    await acceptedErase(second.id);
    const failed = await untilStatus(t, second.id, 'failed', 20_000);
    expect(systemOf(failed, 'bot')).toMatchObject({
      status: 'dead',
      attempts: 3,
      last_error: 'awaiting_confirmation',
    });
    await expect.poll(() => alerts.received.some((a) => a.text.includes(second.reference)), SOON).toBe(true);

    // The confirmation arrives after all: the task completes, the request with it, and the dead letter goes.
    expect(await receiver.confirmPending()).toEqual([200]);
    const late = await requestView(t, second.id);
    expect(late.status).toBe('completed');
    expect(systemOf(late, 'bot')).toMatchObject({ status: 'done', counts: { deleted: 1 } });
    const letters = JSON.parse((await cli.run('dlq', 'list')).stdout) as { data: { requestId: string } }[];
    expect(letters.some((l) => l.data.requestId === second.id)).toBe(false);
  });
});
