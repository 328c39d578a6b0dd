import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DB } from '../../src/lib/db/schema.js';
import {
  createForwarder,
  drainConversation,
  FORWARD_QUEUE,
  startForwardWorker,
  type Forwarder,
} from '../../src/modules/forwarding/index.js';
import type { Tenant } from '../../src/modules/tenants/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

const SECRET = 'forward-secret-0123456789';

interface Delivery {
  id: string;
  conversation: string;
  seq: number;
  body: string;
}

/** The downstream bot: checks every signature, records accepted deliveries, fails on demand. */
async function startReceiver() {
  const received: Delivery[] = [];
  const attempts: string[] = [];
  let badSignatures = 0;
  let failNext: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`;
      if (
        req.headers['x-flowguard-signature-256'] !== expected ||
        req.headers['content-type'] !== 'application/json'
      ) {
        badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const doc = JSON.parse(body.toString('utf8')) as {
        object: string;
        entry: { id: string; changes: { field: string; value: { conversation: string; seq: number } }[] }[];
      };
      const value = doc.entry[0]?.changes[0]?.value;
      if (doc.object !== 'whatsapp_business_account' || !value) {
        res.writeHead(400).end();
        return;
      }
      attempts.push(`${value.conversation}${value.seq}`);
      if ((failNext[value.conversation] ?? 0) > 0) {
        failNext[value.conversation]! -= 1;
        res.writeHead(503).end('down');
        return;
      }
      received.push({
        id: String(req.headers['x-flowguard-delivery']),
        conversation: value.conversation,
        seq: value.seq,
        body: body.toString('utf8'),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    attempts,
    badSignatures: () => badSignatures,
    fail(conversation: string, times: number) {
      failNext[conversation] = times;
    },
    reset() {
      received.length = 0;
      attempts.length = 0;
      failNext = {};
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(storeKinds())('pass-through forwarding on %s', (kind) => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let forwarder: Forwarder;
  let tenant: Tenant;
  let configDir: string;

  const event = (conversation: string, seq: number) => ({
    wabaId: '200000000000002',
    field: 'messages',
    value: { messaging_product: 'whatsapp', conversation, seq },
  });

  async function enqueue(
    conversation: string,
    seq: number,
    subjectId: string | null = null,
    tx?: Kysely<DB>,
  ) {
    const run = (db: Kysely<DB>) =>
      forwarder.enqueue(db, {
        tenant,
        subjectId,
        conversationKey: `conv-${conversation}`,
        event: event(conversation, seq),
      });
    if (tx) return run(tx);
    return t.ctx.database.db.transaction().execute(run);
  }

  const pending = async () =>
    Number(
      (
        await t.ctx.database.db
          .selectFrom('forward_outbox')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  let workerStarted = false;
  async function ensureWorker() {
    if (workerStarted) return;
    workerStarted = true;
    await startForwardWorker(t.ctx);
  }

  const drain = (conversation: string, targetIndex = 0) =>
    drainConversation(t.ctx, { tenantId: tenant.id, conversationKey: `conv-${conversation}`, targetIndex });

  beforeAll(async () => {
    receiver = await startReceiver();
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-forward-'));
    const configFile = path.join(configDir, 'flowguard.yaml');
    fs.writeFileSync(
      configFile,
      `tenant:\n  forward:\n    - url: ${receiver.url}\n      secret: ${SECRET}\n`,
    );
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: configFile });
    forwarder = createForwarder(t.ctx);
    tenant = await t.ctx.tenants.getDefault();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    receiver.reset();
    await t.ctx.database.db.deleteFrom('forward_outbox').execute();
  });

  it('stores each event encrypted in the enqueuing transaction, and nothing when it rolls back', async () => {
    expect(tenant.settings.forward).toHaveLength(1);
    await t.ctx.database.db.transaction().execute(async (tx) => {
      await enqueue('A', 1, null, tx);
      await enqueue('B', 1, null, tx);
    });
    const rows = await t.ctx.database.db.selectFrom('forward_outbox').selectAll().orderBy('id').execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.body).toMatch(/^v1\./);
      expect(row.body).not.toContain('whatsapp_business_account');
    }
    // The drain jobs were sent in the same transaction.
    const jobs = await t.ctx.queue.boss.getQueueSize(FORWARD_QUEUE);
    expect(jobs).toBeGreaterThanOrEqual(2);

    await expect(
      t.ctx.database.db.transaction().execute(async (tx) => {
        await enqueue('C', 1, null, tx);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await pending()).toBe(2);
    expect(await t.ctx.queue.boss.getQueueSize(FORWARD_QUEUE)).toBe(jobs);
  });

  it('delivers a failed head before anything behind it, without holding up other conversations', async () => {
    // Interleaved, two conversations, several transactions.
    await t.ctx.database.db.transaction().execute(async (tx) => {
      await enqueue('A', 1, null, tx);
      await enqueue('B', 1, null, tx);
    });
    await enqueue('A', 2);
    await t.ctx.database.db.transaction().execute(async (tx) => {
      await enqueue('B', 2, null, tx);
      await enqueue('A', 3, null, tx);
    });
    receiver.fail('A', 2);

    const a1 = await drain('A');
    expect(a1).toMatchObject({ outcome: 'failed', delivered: 0, error: 'http 503' });
    expect(await drain('B')).toMatchObject({ outcome: 'drained', delivered: 2 });
    expect(await drain('A')).toMatchObject({ outcome: 'failed', delivered: 0 });
    expect(receiver.received.map((d) => `${d.conversation}${d.seq}`)).toEqual(['B1', 'B2']);
    // Later events of A were never attempted while its head was failing.
    expect(receiver.attempts.filter((a) => a.startsWith('A'))).toEqual(['A1', 'A1']);
    const head = await t.ctx.database.db
      .selectFrom('forward_outbox')
      .select(['attempts', 'last_error'])
      .where('conversation_key', '=', 'conv-A')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    expect(head).toEqual({ attempts: 2, last_error: 'http 503' });

    expect(await drain('A')).toMatchObject({ outcome: 'drained', delivered: 3 });
    expect(receiver.received.map((d) => `${d.conversation}${d.seq}`)).toEqual(['B1', 'B2', 'A1', 'A2', 'A3']);
    expect(new Set(receiver.received.map((d) => d.id)).size).toBe(5);
    expect(await pending()).toBe(0);
    expect(receiver.badSignatures()).toBe(0);
    const metrics = await t.ctx.metrics.registry.getSingleMetricAsString(
      'flowguard_forward_deliveries_total',
    );
    expect(metrics).toMatch(/outcome="failed"} [1-9]/);
    expect(metrics).toMatch(/outcome="delivered"} [1-9]/);
  });

  it('lets only one drain at a time take a conversation', async () => {
    for (let i = 1; i <= 5; i++) await enqueue('A', i);
    const results = await Promise.all([drain('A'), drain('A'), drain('A')]);
    expect(results.reduce((n, r) => n + r.delivered, 0)).toBe(5);
    expect(receiver.received.map((d) => d.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("erases a person's pending deliveries with them", async () => {
    const p = fakePerson();
    const subject = await t.ctx.database.db
      .transaction()
      .execute((tx) => t.ctx.subjects.findOrCreate(tx, tenant.id, [{ kind: 'phone', value: p.e164 }]));
    await enqueue('P', 1, subject.id);
    await enqueue('P', 2, subject.id);
    await enqueue('Q', 1);
    const rows = await t.ctx.database.db
      .selectFrom('forward_outbox')
      .select(['subject_id', 'body'])
      .execute();
    expect(rows.filter((r) => r.subject_id === subject.id)).toHaveLength(2);
    await t.ctx.database.db.deleteFrom('subjects').where('id', '=', subject.id).execute();
    t.ctx.subjectKeys.forget(subject.id);
    expect(await pending()).toBe(1);
    expect(await drain('P')).toMatchObject({ outcome: 'drained', delivered: 0 });
  });

  it('drops pending deliveries for a target the tenant no longer has', async () => {
    await enqueue('A', 1);
    await t.ctx.database.db.updateTable('forward_outbox').set({ target_index: 5 }).execute();
    expect(
      await drainConversation(t.ctx, { tenantId: tenant.id, conversationKey: 'conv-A', targetIndex: 5 }),
    ).toMatchObject({ outcome: 'drained', delivered: 0, dropped: 1 });
    expect(await pending()).toBe(0);
    expect(receiver.attempts).toEqual([]);
    expect(t.logs.text()).toContain('forward target no longer configured');
  });

  it('sends a drain that exhausts its retries to the dead-letter queue, and a replay delivers', async () => {
    // Before any worker runs: replace the drain job of this event with one allowed no retry.
    receiver.fail('D', 1000);
    await enqueue('D', 1);
    await t.ctx.queue.boss.purgeQueue(FORWARD_QUEUE);
    const key = { tenantId: tenant.id, conversationKey: 'conv-D', targetIndex: 0 };
    await t.ctx.queue.send(t.ctx.database.db, FORWARD_QUEUE, key, { retryLimit: 0 });
    await ensureWorker();
    await until(async () => (await t.ctx.queue.boss.getQueueSize(`${FORWARD_QUEUE}.dead`)) > 0);
    const [dead] = await t.ctx.queue.boss.fetch<typeof key>(`${FORWARD_QUEUE}.dead`);
    expect(dead?.data).toEqual(key);
    expect(receiver.attempts).toEqual(['D1']);
    expect(await pending()).toBe(1);
    // The operator replays it once the receiver is back: the released head is delivered at once.
    receiver.fail('D', 0);
    await t.ctx.queue.send(t.ctx.database.db, FORWARD_QUEUE, dead!.data);
    await until(() => receiver.received.length === 1);
    await until(async () => (await pending()) === 0);
  });

  it('delivers end to end through the queue worker, retrying with backoff, in order, exactly once', async () => {
    await ensureWorker();
    receiver.fail('A', 1);
    await t.ctx.database.db.transaction().execute(async (tx) => {
      await enqueue('A', 1, null, tx);
      await enqueue('B', 1, null, tx);
    });
    await enqueue('A', 2);
    await enqueue('B', 2);
    await enqueue('A', 3);
    await until(() => receiver.received.filter((d) => d.conversation === 'B').length === 2);
    await until(() => receiver.received.length === 5);
    const order = (c: string) => receiver.received.filter((d) => d.conversation === c).map((d) => d.seq);
    expect(order('A')).toEqual([1, 2, 3]);
    expect(order('B')).toEqual([1, 2]);
    expect(receiver.attempts.filter((a) => a.startsWith('A'))).toEqual(['A1', 'A1', 'A2', 'A3']);
    await until(async () => (await pending()) === 0);
    await new Promise((r) => setTimeout(r, 1200)); // leftover jobs of A find nothing to deliver twice
    expect(receiver.received).toHaveLength(5);

    // Throughput of one conversation through the worker (rough; reported, not asserted).
    const n = 40;
    await t.ctx.database.db.transaction().execute(async (tx) => {
      for (let i = 1; i <= n; i++) await enqueue('T', i, null, tx);
    });
    const started = Date.now();
    await until(() => receiver.received.length === 5 + n, 30_000);
    const seconds = (Date.now() - started) / 1000;
    expect(receiver.received.slice(5).map((d) => d.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(t.logs.text()).toContain('forward delivery failed');
    expect(t.logs.text()).not.toContain('conv-');
    console.info(`[${kind}] one conversation: ${n} deliveries in ${seconds.toFixed(2)} s`);
  });
});
