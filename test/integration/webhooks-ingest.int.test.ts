import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldCipher } from '../../src/lib/crypto/index.js';
import { openBody } from '../../src/modules/forwarding/outbox-body.js';
import { blindIndex } from '../../src/modules/subjects/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  envelope,
  flowReplyMessage,
  imageMessage,
  messagesValue,
  phoneOf,
  postWebhook,
  statusItem,
  textMessage,
  unixNow,
  type Person,
} from '../helpers/webhook-payloads.js';

/** What the webhook ingest stores, and how: minimal, encrypted, linked to the right subject. */

const CONTENT = { id: 'content-on', phoneNumberId: '100000000000003', appSecret: 'content-on-app-secret-55' };
const FORWARD = { id: 'forwarding', phoneNumberId: '100000000000004', appSecret: 'forwarding-app-secret-66' };

describe.each(storeKinds())('webhook ingest on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    const deps = { db: t.ctx.database.db, keyring: t.ctx.keyring };
    await addTenant(deps, { ...CONTENT, settings: { storeMessageContent: true } });
    await addTenant(deps, {
      ...FORWARD,
      settings: { forward: [{ url: 'http://127.0.0.1:9/downstream', secret: 'downstream-secret-0123' }] },
    });
    await t.ctx.tenants.reload();
  });
  afterAll(async () => t?.close());

  const db = () => t.ctx.database.db;
  async function subject(p: Person, tenantId = 'default', by = phoneOf(p)) {
    const id = await t.ctx.subjects.find(db(), tenantId, [by]);
    if (!id) throw new Error('no subject');
    const cipher = (await t.ctx.subjectKeys.cipher(db(), id)) as FieldCipher;
    const row = await db().selectFrom('subjects').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { id, cipher, row };
  }
  const ok = async (res: Awaited<ReturnType<typeof postWebhook>>) => {
    expect(res.statusCode).toBe(200);
    return res.json().events as { ingested: number; duplicate: number; rejected: number; ignored: number };
  };

  it('keeps no message content when the tenant does not store it', async () => {
    const p = fakePerson();
    await ok(
      await postWebhook(
        t,
        delivery({
          contacts: [contact(p)],
          messages: [
            textMessage(p, 'private words'),
            imageMessage(p, { id: '9000001', caption: 'a caption' }),
          ],
        }),
      ),
    );
    const s = await subject(p);
    const messages = await db().selectFrom('messages').selectAll().where('subject_id', '=', s.id).execute();
    expect(messages.map((m) => [m.type, m.content])).toEqual([
      ['text', null],
      ['image', null],
    ]);
    const media = await db().selectFrom('media').selectAll().where('subject_id', '=', s.id).execute();
    expect(media).toHaveLength(1);
    expect(media[0]?.caption).toBeNull();
  });

  it('stores text and captions encrypted and decryptable when the tenant opted in', async () => {
    const p = fakePerson();
    const opts = { secret: CONTENT.appSecret };
    const image = imageMessage(p, { id: '9000002', caption: 'receipt for order 7' });
    await ok(
      await postWebhook(
        t,
        delivery(
          { contacts: [contact(p)], messages: [textMessage(p, 'my private words'), image] },
          CONTENT.phoneNumberId,
        ),
        opts,
      ),
    );
    const s = await subject(p, CONTENT.id);
    const messages = await db().selectFrom('messages').selectAll().where('subject_id', '=', s.id).execute();
    const text = messages.find((m) => m.type === 'text')!;
    expect(text.content).toMatch(/^v1\./);
    expect(text.content).not.toContain('private');
    expect(s.cipher.decrypt(text.content!, 'messages', 'content', text.id)).toBe('my private words');
    const img = messages.find((m) => m.type === 'image')!;
    expect(s.cipher.decrypt(img.content!, 'messages', 'content', img.id)).toBe('receipt for order 7');
    const media = await db()
      .selectFrom('media')
      .selectAll()
      .where('message_id', '=', img.id)
      .executeTakeFirstOrThrow();
    expect(s.cipher.decrypt(media.caption!, 'media', 'caption', media.id)).toBe('receipt for order 7');
  });

  it('keeps a media reference: encrypted id and hash, plain mime type', async () => {
    const p = fakePerson();
    const sha = crypto.randomBytes(32).toString('base64');
    const msg = imageMessage(p, { id: '1479537139650973', sha256: sha });
    await ok(await postWebhook(t, delivery({ contacts: [contact(p)], messages: [msg] })));
    const s = await subject(p);
    const media = await db()
      .selectFrom('media')
      .selectAll()
      .where('subject_id', '=', s.id)
      .executeTakeFirstOrThrow();
    const message = await db()
      .selectFrom('messages')
      .selectAll()
      .where('subject_id', '=', s.id)
      .executeTakeFirstOrThrow();
    expect(media).toMatchObject({
      tenant_id: 'default',
      message_id: message.id,
      mime_type: 'image/jpeg',
      storage_key: null,
    });
    expect(media.media_ref).not.toContain('1479537139650973');
    expect(s.cipher.decrypt(media.media_ref, 'media', 'media_ref', media.id)).toBe('1479537139650973');
    expect(s.cipher.decrypt(media.sha256!, 'media', 'sha256', media.id)).toBe(sha);
  });

  it('keeps a media reference without its type when the mime type is not one (a NUL once failed the delivery)', async () => {
    const p = fakePerson();
    const messages = ['image/\u0000jpeg', 'image/jpeg\r\nX-Injected: 1', 'jpeg'].map((mime, i) => {
      const msg = imageMessage(p, { id: `147953713965098${i}` });
      return { ...msg, image: { ...msg.image, mime_type: mime } };
    });
    expect(await ok(await postWebhook(t, delivery({ contacts: [contact(p)], messages })))).toMatchObject({
      ingested: 4,
      rejected: 0,
    });
    const s = await subject(p);
    const media = await db().selectFrom('media').select('mime_type').where('subject_id', '=', s.id).execute();
    expect(media).toEqual([{ mime_type: null }, { mime_type: null }, { mime_type: null }]);
  });

  it('stores a Flow completion encrypted whatever the content setting', async () => {
    const p = fakePerson();
    const responseJson = JSON.stringify({
      flow_token: 'tok-123',
      action: 'book_viewing',
      note: p.name,
    });
    await ok(
      await postWebhook(
        t,
        delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, responseJson)] }),
      ),
    );
    const s = await subject(p);
    const rows = await db().selectFrom('flow_responses').selectAll().where('subject_id', '=', s.id).execute();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ tenant_id: 'default', flow_token_id: null });
    expect(row.response).not.toContain('book_viewing');
    expect(s.cipher.decrypt(row.response, 'flow_responses', 'response', row.id)).toBe(responseJson);
  });

  it('records statuses against the recipient without creating anyone', async () => {
    const [p, stranger] = [fakePerson(), fakePerson()];
    await ok(await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hi')] })));
    const s = await subject(p);
    const at = unixNow(-30);
    const events = await ok(
      await postWebhook(
        t,
        delivery({
          statuses: [
            { ...statusItem(p, 'delivered'), timestamp: at },
            statusItem(p, 'failed', { errorCode: 131047 }),
            statusItem(stranger, 'read'),
          ],
        }),
      ),
    );
    expect(events).toMatchObject({ ingested: 3, rejected: 0 });
    const rows = await db()
      .selectFrom('message_statuses')
      .selectAll()
      .where('subject_id', '=', s.id)
      .execute();
    expect(rows.map((r) => [r.status, r.error_code]).sort()).toEqual([
      ['delivered', null],
      ['failed', 131047],
    ]);
    expect(rows.find((r) => r.status === 'delivered')?.status_at.getTime()).toBe(Number(at) * 1000);
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(stranger)])).toBeUndefined();
    const orphan = await db()
      .selectFrom('message_statuses')
      .select('subject_id')
      .where('status', '=', 'read')
      .execute();
    expect(orphan.some((r) => r.subject_id === null)).toBe(true);
  });

  async function suppressions(p: Person, tenantId = 'default') {
    const indexes = [phoneOf(p), bsuidOf(p)].map((i) => blindIndex(t.ctx.keyring, tenantId, i));
    return db()
      .selectFrom('suppressions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('blind_index', 'in', indexes)
      .execute();
  }

  it('applies user_preferences stop and resume to the subject and the suppression list', async () => {
    const p = fakePerson();
    const pref = (value: string, offset: number) =>
      envelope([
        {
          field: 'user_preferences',
          value: messagesValue({
            contacts: [contact(p, { phone: true, bsuid: true })],
            user_preferences: [
              {
                wa_id: p.waId,
                user_id: p.bsuid,
                category: 'marketing_messages',
                value,
                timestamp: unixNow(offset),
              },
            ],
          }),
        },
      ]);
    expect(await ok(await postWebhook(t, pref('stop', -10)))).toMatchObject({ ingested: 2 });
    const s = await subject(p);
    expect(s.row.marketing_opt_out).toBe(true);
    const rows = await suppressions(p);
    expect(rows.map((r) => [r.kind, r.reason]).sort()).toEqual([
      ['bsuid', 'user_preferences'],
      ['phone', 'user_preferences'],
    ]);
    expect(JSON.stringify(rows)).not.toContain(p.waId);

    expect(await ok(await postWebhook(t, pref('resume', 0)))).toMatchObject({ ingested: 2 });
    expect((await subject(p)).row.marketing_opt_out).toBe(false);
    expect(await suppressions(p)).toEqual([]);
  });

  it('treats a STOP keyword message as a marketing opt-out that outlives the subject', async () => {
    const p = fakePerson();
    await ok(
      await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, ' stop ')] })),
    );
    const s = await subject(p);
    expect(s.row.marketing_opt_out).toBe(true);
    expect((await suppressions(p)).map((r) => [r.kind, r.reason])).toEqual([['phone', 'stop_keyword']]);

    // Erased (the subject and its key go), then back: the suppression still applies to the new subject.
    await db().deleteFrom('subjects').where('id', '=', s.id).execute();
    t.ctx.subjectKeys.forget(s.id);
    await ok(
      await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello again')] })),
    );
    const again = await subject(p);
    expect(again.id).not.toBe(s.id);
    expect(again.row.marketing_opt_out).toBe(true);
  });

  it('accepts a sender known only by a business-scoped user id', async () => {
    const p = fakePerson();
    const msg = textMessage(p, 'hi', { phone: false, bsuid: true });
    await ok(await postWebhook(t, delivery({ contacts: [contact(p, { bsuid: true })], messages: [msg] })));
    const s = await subject(p, 'default', bsuidOf(p));
    const identities = await db()
      .selectFrom('identities')
      .selectAll()
      .where('subject_id', '=', s.id)
      .execute();
    expect(identities.map((i) => i.kind)).toEqual(['bsuid']);
    expect(s.cipher.decrypt(identities[0]!.value, 'identities', 'value', identities[0]!.id)).toBe(p.bsuid);
    expect(s.cipher.decrypt(s.row.profile_name!, 'subjects', 'profile_name', s.id)).toBe(p.name);
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(p)])).toBeUndefined();
  });

  it('links a new business-scoped user id to the same subject on user_id_update', async () => {
    const p = fakePerson();
    const next = `US.${crypto.randomBytes(10).toString('hex')}`;
    const msg = textMessage(p, 'hi', { phone: true, bsuid: true });
    await ok(
      await postWebhook(
        t,
        delivery({ contacts: [contact(p, { phone: true, bsuid: true })], messages: [msg] }),
      ),
    );
    const s = await subject(p);
    const update = envelope([
      {
        field: 'user_id_update',
        value: { user_id: { previous: p.bsuid, current: next }, wa_id: p.waId, timestamp: unixNow() },
      },
    ]);
    expect(await ok(await postWebhook(t, update))).toMatchObject({ ingested: 1 });
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(p, next)])).toBe(s.id);
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(p)])).toBe(s.id);
    const rows = await db().selectFrom('identities').selectAll().where('subject_id', '=', s.id).execute();
    const old = rows.find((r) => r.blind_index === blindIndex(t.ctx.keyring, 'default', bsuidOf(p)));
    const current = rows.find(
      (r) => r.blind_index === blindIndex(t.ctx.keyring, 'default', bsuidOf(p, next)),
    );
    expect(old?.superseded_at).toBeInstanceOf(Date);
    expect(current?.superseded_at).toBeNull();
    expect(s.cipher.decrypt(current!.value, 'identities', 'value', current!.id)).toBe(next);

    // A later message under the new id alone lands on the same subject.
    const later = { ...textMessage(p, 'new id here', { phone: false }), from_user_id: next };
    await ok(await postWebhook(t, delivery({ messages: [later] })));
    const count = await db().selectFrom('messages').select('id').where('subject_id', '=', s.id).execute();
    expect(count).toHaveLength(2);
  });

  it('passes new messages and statuses through to the downstream outbox, once', async () => {
    const [p, q] = [fakePerson(), fakePerson()];
    const msg = textMessage(p, 'for the bot');
    const payload = delivery(
      { contacts: [contact(q), contact(p)], messages: [msg], statuses: [statusItem(q, 'sent')] },
      FORWARD.phoneNumberId,
    );
    await ok(await postWebhook(t, payload, { secret: FORWARD.appSecret }));
    await ok(await postWebhook(t, payload, { secret: FORWARD.appSecret }));
    const rows = await db()
      .selectFrom('forward_outbox')
      .selectAll()
      .where('tenant_id', '=', FORWARD.id)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(2);
    const s = await subject(p, FORWARD.id);
    expect(rows[0]).toMatchObject({ subject_id: s.id, conversation_key: s.id, target_index: 0 });
    expect(rows[1]).toMatchObject({ subject_id: null, conversation_key: 'none' });
    expect(rows[0]!.body).not.toContain(p.waId);
    const body = JSON.parse((await openBody(t.ctx, db(), rows[0]!))!);
    expect(body).toEqual({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: expect.any(String),
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: (payload as { entry: { changes: { value: { metadata: unknown } }[] }[] }).entry[0]!
                  .changes[0]!.value.metadata,
                contacts: [contact(p)],
                messages: [msg],
              },
            },
          ],
        },
      ],
    });
    const status = JSON.parse((await openBody(t.ctx, db(), rows[1]!))!);
    expect(status.entry[0].changes[0].value.statuses).toEqual([expect.objectContaining({ status: 'sent' })]);
    expect(status.entry[0].changes[0].value.contacts).toBeUndefined();
  });
});
