import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_APP_SECRET,
  TEST_VERIFY_TOKEN,
  createTestApp,
  fakePerson,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';
import { dumpStore } from '../helpers/store-dump.js';
import {
  contact,
  delivery,
  envelope,
  flowReplyMessage,
  imageMessage,
  messagesValue,
  postWebhook,
  statusItem,
  textMessage,
  unixNow,
  type Person,
} from '../helpers/webhook-payloads.js';

/**
 * ARCHITECTURE.md "Own store": a database dump must contain no plaintext phone number or name. Several fake
 * people are ingested with message content switched ON (the worst case), then the whole store is dumped and
 * searched byte for byte; the captured logs are searched too.
 */

const PEOPLE = 4;

describe.each(storeKinds())('no plaintext personal data in a %s dump', (kind) => {
  let t: TestApp;
  let yamlDir: string;
  const people: Person[] = Array.from({ length: PEOPLE }, (_, i) => fakePerson(10 + i));
  const secrets: string[] = [];
  /** Stored in plaintext on purpose (a mime type is not personal data): proves the search sees column values. */
  const canary = `image/x-canary-${crypto.randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    yamlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-dump-'));
    const yaml = path.join(yamlDir, 'flowguard.yaml');
    fs.writeFileSync(yaml, 'tenant:\n  storeMessageContent: true\n');
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: yaml });

    for (const [i, p] of people.entries()) {
      const words = `my secret plan number ${crypto.randomBytes(5).toString('hex')}`;
      const caption = `caption ${crypto.randomBytes(5).toString('hex')}`;
      const flowAnswer = `answer ${crypto.randomBytes(5).toString('hex')}`;
      const responseJson = JSON.stringify({
        flow_token: `ft-${i}`,
        name: p.name,
        phone: p.e164,
        answer: flowAnswer,
      });
      secrets.push(p.e164, p.waId, p.name, p.bsuid, words, caption, flowAnswer);
      const image = imageMessage(p, { id: `77000${i}`, caption });
      image.image.mime_type = canary;
      const res = await postWebhook(
        t,
        delivery({
          contacts: [contact(p, { phone: true, bsuid: true })],
          messages: [textMessage(p, words), image, flowReplyMessage(p, responseJson)],
          statuses: [statusItem(p, 'delivered')],
        }),
      );
      expect(res.json().events).toMatchObject({ ingested: 5, rejected: 0 });
    }
    const [first] = people;
    const stop = envelope([
      {
        field: 'user_preferences',
        value: messagesValue({
          contacts: [contact(first!)],
          user_preferences: [
            { wa_id: first!.waId, category: 'marketing_messages', value: 'stop', timestamp: unixNow() },
          ],
        }),
      },
    ]);
    expect((await postWebhook(t, stop)).statusCode).toBe(200);
    secrets.push(TEST_APP_SECRET, TEST_VERIFY_TOKEN);
  });

  afterAll(async () => {
    await t?.close();
    if (yamlDir) fs.rmSync(yamlDir, { recursive: true, force: true });
  });

  it('stored the content (encrypted), so its absence below means something', async () => {
    const db = t.ctx.database.db;
    const rows = await db.selectFrom('messages').select(['type', 'content']).execute();
    expect(rows.filter((r) => r.type === 'text' && r.content?.startsWith('v1.'))).toHaveLength(PEOPLE);
    expect(await db.selectFrom('flow_responses').select('id').execute()).toHaveLength(PEOPLE);
    expect(await db.selectFrom('suppressions').select('reason').execute()).toHaveLength(2);
  });

  it('finds no number, name, id or message text in the dump', async () => {
    const bytes = await dumpStore(t);
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(bytes.includes(canary)).toBe(true);
    const found = secrets.filter((s) => bytes.includes(s));
    expect(found.map((s) => `${s.slice(0, 3)}… (${s.length} chars)`)).toEqual([]);
  });

  it('finds none of them in the logs either', () => {
    const logs = t.logs.text();
    expect(logs.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => logs.includes(s))).toEqual([]);
  });
});
