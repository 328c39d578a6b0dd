import crypto from 'node:crypto';
import { blindIndex } from '../../src/modules/subjects/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { fakePerson, type TestApp } from '../helpers/test-app.js';
import {
  contact,
  delivery,
  phoneOf,
  postWebhook,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';

/** Rows in every retention category, some past their period and some not, with what each sweep must report. */

const DAY = 86_400_000;
export const ago = (days: number, from = Date.now()) => new Date(from - days * DAY);
const uuid = () => crypto.randomUUID();
const key = () => crypto.randomBytes(12).toString('hex');

async function ingest(t: TestApp, p: Person, text = 'hello'): Promise<string> {
  const res = await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, text)] }));
  if (res.statusCode !== 200) throw new Error(`webhook ${res.statusCode}`);
  const id = await t.ctx.subjects.find(t.ctx.database.db, 'default', [phoneOf(p)]);
  if (!id) throw new Error('no subject');
  return id;
}

export interface Seeded {
  people: Record<'active' | 'optedOut' | 'restricted' | 'openRequest' | 'recent', { p: Person; id: string }>;
  /** Own-store categories: rows past their period (the rest of the seeded rows are within it). */
  expired: Record<string, number>;
  /** Rows that must survive the sweep, by table. */
  kept: { table: string; column: string; value: string }[];
  optedOutIndex: string;
  /** Key store erasure journal entries: one past the backup retention, one within it. */
  keyStoreJournal: { expired: string; kept: string };
}

export async function seedEveryCategory(t: TestApp): Promise<Seeded> {
  const db = t.ctx.database.db;
  await addTenant(
    { db, keyring: t.ctx.keyring },
    {
      id: 'reengage',
      phoneNumberId: '100000000000007',
      appSecret: 'reengage-app-secret-77',
      settings: { reengagement: { enabled: true, windowDays: 90 } },
    },
  );
  await t.ctx.tenants.reload();
  const person = async (text?: string) => {
    const p = fakePerson();
    return { p, id: await ingest(t, p, text) };
  };
  const people = {
    active: await person(),
    optedOut: await person('STOP'),
    restricted: await person(),
    openRequest: await person(),
    recent: await person(),
  };
  const { active } = people;
  const kept: Seeded['kept'] = [];
  const keep = (table: string, column: string, value: string) => kept.push({ table, column, value });
  const tenant = 'default';
  const subject = active.id;

  await db
    .updateTable('subjects')
    .set({ last_seen_at: ago(400) })
    .where('id', 'in', [people.optedOut.id, people.restricted.id, people.openRequest.id])
    .execute();
  await db.updateTable('subjects').set({ restricted: true }).where('id', '=', people.restricted.id).execute();
  await db
    .updateTable('subjects')
    .set({ last_seen_at: ago(300) })
    .where('id', '=', people.recent.id)
    .execute();

  for (const [days, n] of [
    [200, 3],
    [10, 2],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const id = uuid();
      await db
        .insertInto('flow_responses')
        .values({ id, tenant_id: tenant, subject_id: subject, response: 'v1.sealed', received_at: ago(days) })
        .execute();
      if (days === 10) keep('flow_responses', 'id', id);
    }
  }
  for (const [days, content] of [
    [100, null],
    [95, null],
    [1, 'v1.sealed'],
  ] as const) {
    const id = uuid();
    await db
      .insertInto('messages')
      .values({
        id,
        tenant_id: tenant,
        subject_id: subject,
        event_key: key(),
        direction: 'inbound',
        type: 'text',
        sent_at: ago(days),
        content,
        created_at: ago(days),
      })
      .execute();
    if (days === 1) keep('messages', 'id', id);
  }
  for (const days of [40, 31, 5]) {
    const id = uuid();
    await db
      .insertInto('media')
      .values({ id, tenant_id: tenant, subject_id: subject, media_ref: 'v1.sealed', received_at: ago(days) })
      .execute();
    const sid = uuid();
    await db
      .insertInto('message_statuses')
      .values({
        id: sid,
        tenant_id: tenant,
        subject_id: subject,
        event_key: key(),
        status: 'delivered',
        status_at: ago(days),
        created_at: ago(days),
      })
      .execute();
    if (days === 5) {
      keep('media', 'id', id);
      keep('message_statuses', 'id', sid);
    }
  }
  for (const days of [8, 9, 30, 6]) {
    const k = key();
    await db
      .insertInto('processed_events')
      .values({ tenant_id: tenant, event_key: k, kind: 'message', processed_at: ago(days) })
      .execute();
    if (days === 6) keep('processed_events', 'event_key', k);
  }
  for (const days of [8, 6]) {
    const id = uuid();
    await db
      .insertInto('flow_tokens')
      .values({
        id,
        tenant_id: tenant,
        subject_id: subject,
        token_hash: key(),
        purpose: 'privacy_center',
        expires_at: ago(days),
        created_at: ago(days + 1),
      })
      .execute();
    if (days === 6) keep('flow_tokens', 'id', id);
  }
  for (const days of [31, 1]) {
    await db
      .insertInto('forward_outbox')
      .values({
        tenant_id: tenant,
        subject_id: subject,
        target_index: 0,
        conversation_key: key(),
        body: 'v1.sealed',
        created_at: ago(days),
      })
      .execute();
  }
  for (const days of [2, 0.1]) {
    const id = uuid();
    await db
      .insertInto('outbound_notifications')
      .values({
        id,
        tenant_id: tenant,
        recipient: 'v1.sealed',
        kind: 'erasure_done',
        params: '{}',
        created_at: ago(days),
      })
      .execute();
    if (days < 1) keep('outbound_notifications', 'id', id);
  }
  for (const days of [91, 10]) {
    const k = key();
    await db
      .insertInto('alerts_sent')
      .values({ subject_key: k, kind: 'deadline_near', sent_at: ago(days) })
      .execute();
    if (days === 10) keep('alerts_sent', 'subject_key', k);
  }
  for (const [tenantId, days] of [
    ['default', 5],
    ['default', 200],
    ['reengage', 100],
    ['reengage', 10],
  ] as const) {
    const b = key();
    await db
      .insertInto('erased_identities')
      .values({ tenant_id: tenantId, blind_index: b, erased_at: ago(days) })
      .execute();
    if (tenantId === 'reengage' && days === 10) keep('erased_identities', 'blind_index', b);
  }
  const request = async (
    status: 'completed' | 'awaiting_verification',
    days: number,
    subjectId: string | null,
  ) => {
    const id = uuid();
    await db
      .insertInto('privacy_requests')
      .values({
        id,
        tenant_id: tenant,
        reference: `R-${key()}`,
        type: 'erasure',
        channel: 'api',
        status,
        scope: 'all',
        subject_id: subjectId,
        subject_ref: key(),
        regime: 'gdpr',
        result: '{}',
        received_at: ago(days + 1),
        due_at: ago(days - 20),
        original_due_at: ago(days - 20),
        completed_at: status === 'completed' ? ago(days) : null,
        updated_at: ago(days),
      })
      .execute();
    return id;
  };
  const old = await request('completed', 800, null);
  const younger = await request('completed', 700, null);
  const open = await request('awaiting_verification', 2, people.openRequest.id);
  keep('privacy_requests', 'id', younger);
  keep('privacy_requests', 'id', open);
  await db
    .insertInto('request_tasks')
    .values({ request_id: old, system_id: 'crm', action: 'erase', status: 'done', counts: '{}' })
    .execute();
  for (const [requestId, expires] of [
    [old, ago(700)],
    [younger, ago(1)],
    [open, ago(-1)],
  ] as const) {
    await db
      .insertInto('request_exports')
      .values({ request_id: requestId, system_id: 'crm', body: 'v1.sealed', expires_at: expires })
      .execute();
  }
  const keyStoreJournal = await seedOperational(t, keep);
  return {
    people,
    kept,
    keyStoreJournal,
    optedOutIndex: blindIndex(t.ctx.keyring, tenant, phoneOf(people.optedOut.p)),
    expired: {
      processed_events: 3,
      outbound_notifications: 1,
      alerts_sent: 1,
      request_exports: 2,
      flow_tokens: 1,
      delivery_statuses: 2,
      media: 2,
      message_content: 1,
      messages: 2,
      flow_responses: 3,
      pending_forwards: 1,
      erased_identities: 3,
      inactive_contacts: 1,
      request_records: 1,
      admin_sessions: 1,
      login_throttle: 1,
      erasure_journal: 1,
      key_store_journal: 1,
      audit_log: 0,
    },
  };
}

/** Admin sessions and sign-in counters that are over, and erasure journal entries older than the backups. */
async function seedOperational(
  t: TestApp,
  keep: (table: string, column: string, value: string) => void,
): Promise<Seeded['keyStoreJournal']> {
  const db = t.ctx.database.db;
  const adminId = uuid();
  await db
    .insertInto('admin_users')
    .values({
      id: adminId,
      tenant_id: null,
      email_index: key(),
      email: 'v1.sealed',
      role: 'operator',
      password_hash: 'x',
      totp_secret: 'v1.sealed',
    })
    .execute();
  for (const days of [8, 1]) {
    const idHash = key();
    const signedIn = ago(days + 0.5);
    await db
      .insertInto('admin_sessions')
      .values({
        id_hash: idHash,
        user_id: adminId,
        csrf_hash: key(),
        created_at: signedIn,
        last_seen_at: signedIn,
        expires_at: ago(days),
        mfa_at: signedIn,
        ended_at: days === 8 ? signedIn : null,
      })
      .execute();
    if (days === 1) keep('admin_sessions', 'id_hash', idHash);
  }
  // Spent counters go; a lock still running, or a window still open, stays.
  for (const [windowDays, lockedUntil] of [
    [2, null],
    [2, ago(-0.01)],
    [0.001, null],
  ] as const) {
    const k = key();
    await db
      .insertInto('admin_login_throttle')
      .values({
        scope: 'source',
        key: k,
        failures: 3,
        window_started_at: ago(windowDays),
        locked_until: lockedUntil,
      })
      .execute();
    if (windowDays < 1 || lockedUntil) keep('admin_login_throttle', 'key', k);
  }
  // Shredded entries past the backup retention (35 days) go; newer ones and pending ones stay.
  for (const [days, shredded] of [
    [40, true],
    [10, true],
    [40, false],
  ] as const) {
    const row = await db
      .insertInto('erasure_journal')
      .values({
        tenant_id: 'default',
        subject_id: shredded ? null : uuid(),
        ref: shredded ? key() : null,
        erased_at: ago(days),
        shredded_at: shredded ? ago(days) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (days === 10 || !shredded) keep('erasure_journal', 'id', row.id);
  }
  const expired = crypto.randomBytes(32).toString('hex');
  const kept = crypto.randomBytes(32).toString('hex');
  await t.ctx.keyStore.delete([
    { ref: expired, tenantId: 'default', erasedAt: ago(40) },
    { ref: kept, tenantId: 'default', erasedAt: ago(10) },
  ]);
  return { expired, kept };
}
