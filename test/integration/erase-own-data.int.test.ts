import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseOwnData } from '../../src/modules/dsr/erase-own-data.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * `eraseOwnData` with scope `all`, driven directly: the counts it returns, every row of the person gone, the
 * suppressions of a person who opted out kept, the blind indexes remembered for re-engagement, stored media
 * files queued for deletion, and nothing done for a subject that is not there or is another tenant's.
 */

const TENANT = 'default';
const uuid = () => crypto.randomUUID();
const blind = () => crypto.randomBytes(16).toString('hex');

describe.each(storeKinds())('erasing a person from the own store on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const db = () => t.ctx.database.db;

  /** A person with a row in every table `all` removes; `storedFiles` of their media rows have a stored file. */
  async function seedPerson(opts: { optedOut: boolean; storedFiles: number }) {
    const id = uuid();
    const indexes = [blind(), blind()];
    const storageKeys = Array.from({ length: opts.storedFiles }, () => `${TENANT}/${uuid()}`);
    await db()
      .insertInto('subjects')
      .values({ id, tenant_id: TENANT, profile_name: 'v1.sealed', marketing_opt_out: opts.optedOut })
      .execute();
    await db()
      .insertInto('identities')
      .values(
        (['phone', 'bsuid'] as const).map((kind, i) => ({
          id: uuid(),
          tenant_id: TENANT,
          subject_id: id,
          kind,
          blind_index: indexes[i]!,
          value: 'v1.sealed',
        })),
      )
      .execute();
    const messageIds = [uuid(), uuid(), uuid()];
    await db()
      .insertInto('messages')
      .values(
        messageIds.map((m) => ({
          id: m,
          tenant_id: TENANT,
          subject_id: id,
          event_key: uuid(),
          direction: 'inbound' as const,
          type: 'text',
          sent_at: new Date(),
          content: 'v1.sealed',
        })),
      )
      .execute();
    await db()
      .insertInto('flow_responses')
      .values([1, 2].map(() => ({ id: uuid(), tenant_id: TENANT, subject_id: id, response: 'v1.sealed' })))
      .execute();
    await db()
      .insertInto('media')
      .values(
        [undefined, ...storageKeys].map((storageKey) => ({
          id: uuid(),
          tenant_id: TENANT,
          subject_id: id,
          message_id: messageIds[0],
          media_ref: 'v1.sealed',
          storage_key: storageKey ?? null,
        })),
      )
      .execute();
    await db()
      .insertInto('message_statuses')
      .values({
        id: uuid(),
        tenant_id: TENANT,
        subject_id: id,
        event_key: uuid(),
        status: 'delivered',
        status_at: new Date(),
      })
      .execute();
    await db()
      .insertInto('flow_tokens')
      .values({
        id: uuid(),
        tenant_id: TENANT,
        subject_id: id,
        token_hash: blind(),
        purpose: 'privacy_center',
        expires_at: new Date(Date.now() + 3_600_000),
      })
      .execute();
    await db()
      .insertInto('forward_outbox')
      .values({
        tenant_id: TENANT,
        subject_id: id,
        target_index: 0,
        conversation_key: blind(),
        body: 'v1.sealed',
      })
      .execute();
    return { id, indexes, storageKeys, media: 1 + opts.storedFiles };
  }

  const erase = (subjectId: string, opts: { tenantId?: string; rememberForReengagement?: boolean } = {}) =>
    db()
      .transaction()
      .execute((tx) =>
        eraseOwnData(
          tx,
          { subjectKeys: t.ctx.subjectKeys, queue: t.ctx.queue },
          {
            tenantId: opts.tenantId ?? TENANT,
            subjectId,
            scope: 'all',
            rememberForReengagement: opts.rememberForReengagement,
          },
        ),
      );

  const countOf = async (table: string, column: string, value: string) =>
    Number(
      (
        await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}
          where ${sql.ref(column)} = ${value}`.execute(db())
      ).rows[0]?.n,
    );
  const rowsOf = async (subjectId: string) => {
    const out: Record<string, number> = { subjects: await countOf('subjects', 'id', subjectId) };
    for (const table of [
      'identities',
      'messages',
      'flow_responses',
      'media',
      'message_statuses',
      'flow_tokens',
      'forward_outbox',
    ])
      out[table] = await countOf(table, 'subject_id', subjectId);
    return out;
  };
  const suppressed = (indexes: string[]) =>
    db()
      .selectFrom('suppressions')
      .select(['kind', 'reason'])
      .where('blind_index', 'in', indexes)
      .orderBy('kind')
      .execute();
  const remembered = (indexes: string[]) =>
    db().selectFrom('erased_identities').select('blind_index').where('blind_index', 'in', indexes).execute();
  const deleteJobs = async (keys: string[]) =>
    keys.length === 0
      ? 0
      : Number(
          (
            await sql<{ n: string }>`select count(*)::text as n from pgboss.job
              where name = 'media.delete' and data->>'storageKey' in (${sql.join(keys)})`.execute(db())
          ).rows[0]?.n,
        );
  const journaled = (subjectId: string) => countOf('erasure_journal', 'subject_id', subjectId);

  it('counts and removes every row of the person, keeps an opted-out person’s suppressions and remembers them', async () => {
    const p = await seedPerson({ optedOut: true, storedFiles: 0 });
    const counts = await erase(p.id, { rememberForReengagement: true });
    expect(counts).toEqual({
      identities: 2,
      profile_name: 1,
      messages: 3,
      flow_responses: 2,
      media: 1,
      media_files: 0,
      delivery_statuses: 1,
      flow_tokens: 1,
      pending_forwards: 1,
      data_key: 1,
    });
    expect(Object.values(await rowsOf(p.id)).every((n) => n === 0)).toBe(true);
    expect(await journaled(p.id)).toBe(1);
    expect(await suppressed(p.indexes)).toEqual([
      { kind: 'bsuid', reason: 'kept_after_erasure' },
      { kind: 'phone', reason: 'kept_after_erasure' },
    ]);
    expect((await remembered(p.indexes)).map((r) => r.blind_index).sort()).toEqual([...p.indexes].sort());
  });

  it('writes no suppression for a person who did not opt out, and remembers nothing unless asked', async () => {
    const p = await seedPerson({ optedOut: false, storedFiles: 0 });
    const counts = await erase(p.id);
    expect(counts).toMatchObject({ identities: 2, messages: 3, media: 1, media_files: 0, data_key: 1 });
    expect(Object.values(await rowsOf(p.id)).every((n) => n === 0)).toBe(true);
    expect(await suppressed(p.indexes)).toEqual([]);
    expect(await remembered(p.indexes)).toEqual([]);
  });

  it('queues the deletion of each stored media file, and still keeps the suppressions and remembers', async () => {
    const p = await seedPerson({ optedOut: true, storedFiles: 2 });
    const counts = await erase(p.id, { rememberForReengagement: true });
    expect(counts).toMatchObject({ identities: 2, messages: 3, media: 3, media_files: 2, data_key: 1 });
    expect(Object.values(await rowsOf(p.id)).every((n) => n === 0)).toBe(true);
    expect(await journaled(p.id)).toBe(1);
    expect(await deleteJobs(p.storageKeys)).toBe(2);
    const swept = await db()
      .selectFrom('media_deletions')
      .select('storage_key')
      .where('storage_key', 'in', p.storageKeys)
      .execute();
    expect(swept).toHaveLength(2);
    expect(await suppressed(p.indexes)).toHaveLength(2);
    expect(await remembered(p.indexes)).toHaveLength(2);
  });

  it('does nothing for another tenant’s subject or one that is already gone', async () => {
    const p = await seedPerson({ optedOut: true, storedFiles: 1 });
    const before = await rowsOf(p.id);
    const zero = {
      identities: 0,
      profile_name: 0,
      messages: 0,
      flow_responses: 0,
      media: 0,
      media_files: 0,
      delivery_statuses: 0,
      flow_tokens: 0,
      pending_forwards: 0,
      data_key: 0,
    };
    expect(await erase(p.id, { tenantId: 'another-tenant', rememberForReengagement: true })).toEqual(zero);
    expect(await rowsOf(p.id)).toEqual(before);
    expect(await suppressed(p.indexes)).toEqual([]);
    expect(await remembered(p.indexes)).toEqual([]);
    expect(await deleteJobs(p.storageKeys)).toBe(0);
    expect(await journaled(p.id)).toBe(0);

    await erase(p.id);
    expect(await erase(p.id, { rememberForReengagement: true })).toEqual(zero);
  });
});
