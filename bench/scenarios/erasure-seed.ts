import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AppContext } from '../../src/app/context.js';
import { createFieldCipher, newDataKey } from '../../src/lib/crypto/index.js';
import type { DB } from '../../src/lib/db/schema.js';
import { storedEventKey } from '../../src/modules/whatsapp/ingest-webhook.js';
import { benchPerson, phoneOf, type BenchPerson } from '../harness/people.js';

/**
 * Bulk seeding of the own store for the erasure scenario, in SQL (`insert ... select generate_series`), shaped
 * like production data: per subject a phone and a BSUID identity (64-hex blind indexes), an encrypted
 * profile name, MESSAGES_PER_SUBJECT messages (hashed event keys, no content: the default), one encrypted flow
 * response; a media reference for one subject in MEDIA_EVERY and an old, completed privacy request for one in
 * REQUEST_EVERY. Ciphertexts are real `v1.` envelopes of a few templates (right format and size; they do not
 * open for the row they sit in, which nothing here needs). The bulk's data keys are not seeded: they live in the
 * key store, apart from the database, and an erasure finds its person's key by reference. Foreign-key triggers are off while seeding on
 * PostgreSQL (the rows are consistent by construction); every index the migrations create is there.
 */

export const MESSAGES_PER_SUBJECT = 4;
export const MEDIA_EVERY = 10;
export const REQUEST_EVERY = 100;
const CHUNK = 50_000;

interface Placeholders {
  name: string;
  phone: string;
  bsuid: string;
  response: string;
  mediaRef: string;
  mediaSha: string;
}

function placeholders(): Placeholders {
  const cipher = createFieldCipher(newDataKey());
  const id = () => crypto.randomUUID();
  return {
    name: cipher.encrypt('Benchperson 3f2a1c', 'subjects', 'profile_name', id()),
    phone: cipher.encrypt('+15550000000', 'identities', 'value', id()),
    bsuid: cipher.encrypt(`US.${crypto.randomBytes(10).toString('hex')}`, 'identities', 'value', id()),
    response: cipher.encrypt(
      JSON.stringify({
        screen: 'BOOKING',
        date: '2026-05-01',
        party_size: '2',
        notes: 'window seat, please',
      }),
      'flow_responses',
      'response',
      id(),
    ),
    mediaRef: cipher.encrypt('1234567890123456', 'media', 'media_ref', id()),
    mediaSha: cipher.encrypt(crypto.randomBytes(32).toString('base64'), 'media', 'sha256', id()),
  };
}

/** Add subjects numbered [from, to) with their rows. */
async function seedRange(db: Kysely<DB>, tenantId: string, from: number, to: number, p: Placeholders) {
  const range = sql`generate_series(${from}::int, ${to - 1}::int) as g(i)`;
  const sid = sql`md5('s' || i)::uuid`;
  const hex = (prefix: string, extra = sql``) =>
    sql`encode(sha256(convert_to(${prefix}::text || i ${extra}, 'UTF8')), 'hex')`;
  await sql`insert into subjects (id, tenant_id, profile_name, marketing_opt_out, first_seen_at, last_seen_at, created_at)
    select ${sid}, ${tenantId}, ${p.name}, i % 50 = 0, now() - random() * interval '400 days',
           now() - random() * interval '30 days', now() - random() * interval '400 days'
    from ${range}`.execute(db);
  await sql`insert into identities (id, tenant_id, subject_id, kind, blind_index, value)
    select md5('ip' || i)::uuid, ${tenantId}, ${sid}, 'phone', ${hex('bp')}, ${p.phone} from ${range}
    union all
    select md5('ib' || i)::uuid, ${tenantId}, ${sid}, 'bsuid', ${hex('bb')}, ${p.bsuid} from ${range}`.execute(
    db,
  );
  await sql`insert into messages (id, tenant_id, subject_id, event_key, direction, type, sent_at, content, created_at)
    select md5('m' || i || '.' || j)::uuid, ${tenantId}, ${sid}, ${hex('e', sql`|| '.' || j`)},
           case when j % 2 = 0 then 'outbound' else 'inbound' end, 'text', t, null, t
    from ${range} cross join generate_series(1, ${MESSAGES_PER_SUBJECT}::int) as m(j)
    cross join lateral (select now() - random() * interval '400 days' as t) ts`.execute(db);
  await sql`insert into flow_responses (id, tenant_id, subject_id, flow_token_id, response, received_at)
    select md5('f' || i)::uuid, ${tenantId}, ${sid}, null, ${p.response}, now() - random() * interval '400 days'
    from ${range}`.execute(db);
  await sql`insert into media (id, tenant_id, subject_id, message_id, media_ref, mime_type, sha256, received_at)
    select md5('d' || i)::uuid, ${tenantId}, ${sid}, md5('m' || i || '.1')::uuid, ${p.mediaRef}, 'image/jpeg',
           ${p.mediaSha}, now() - random() * interval '400 days'
    from ${range} where i % ${MEDIA_EVERY}::int = 0`.execute(db);
  await sql`insert into privacy_requests (id, tenant_id, reference, type, scope, channel, status, subject_id,
      subject_ref, regime, verification, result, received_at, verified_at, due_at, original_due_at, completed_at)
    select md5('r' || i)::uuid, ${tenantId}, 'FG-SEED-' || i, 'access', 'all', 'flow', 'completed', ${sid},
           ${hex('sr')}, 'gdpr', 'flow_token', '{}', t, t, t + interval '30 days', t + interval '30 days', t
    from ${range} cross join lateral (select now() - random() * interval '400 days' as t) ts
    where i % ${REQUEST_EVERY}::int = 0`.execute(db);
}

/** Grow the bulk of the store from `have` to `want` subjects; returns seconds spent. */
export async function seedBulk(
  app: Pick<AppContext, 'keyring' | 'database'>,
  tenantId: string,
  have: number,
  want: number,
  log: (line: string) => void,
): Promise<number> {
  const t0 = Date.now();
  const p = placeholders();
  const db = app.database.db;
  const pg = app.database.kind === 'postgres';
  for (let from = have; from < want; from += CHUNK) {
    const to = Math.min(want, from + CHUNK);
    await db.transaction().execute(async (tx) => {
      if (pg) await sql`set local session_replication_role = replica`.execute(tx);
      await seedRange(tx, tenantId, from, to, p);
    });
    if (want - have > CHUNK) log(`erasure: seeded ${to.toLocaleString('en-US')} subjects`);
  }
  await sql`analyze`.execute(db);
  return (Date.now() - t0) / 1000;
}

export interface Target {
  person: BenchPerson;
  subjectId: string;
}

/**
 * People to erase, made through the library exactly as ingest makes them (real keys and ciphertexts), with the
 * same rows per subject as the bulk.
 */
export async function createTargets(app: AppContext, tenantId: string, n: number): Promise<Target[]> {
  const out: Target[] = [];
  const db = app.database.db;
  for (let i = 0; i < n; i++) {
    const person = benchPerson();
    const subjectId = await db.transaction().execute(async (tx) => {
      const s = await app.subjects.findOrCreate(tx, tenantId, [
        phoneOf(person),
        { kind: 'bsuid', value: person.bsuid },
      ]);
      await tx
        .updateTable('subjects')
        .set({ profile_name: s.cipher.encrypt(person.name, 'subjects', 'profile_name', s.id) })
        .where('id', '=', s.id)
        .execute();
      const messageIds: string[] = [];
      for (let j = 0; j < MESSAGES_PER_SUBJECT; j++) {
        const id = crypto.randomUUID();
        messageIds.push(id);
        await tx
          .insertInto('messages')
          .values({
            id,
            tenant_id: tenantId,
            subject_id: s.id,
            event_key: storedEventKey(app, tenantId, `wamid.${crypto.randomBytes(16).toString('hex')}`),
            direction: j % 2 ? 'outbound' : 'inbound',
            type: 'text',
            sent_at: new Date(),
            content: null,
          })
          .execute();
      }
      const fr = crypto.randomUUID();
      await tx
        .insertInto('flow_responses')
        .values({
          id: fr,
          tenant_id: tenantId,
          subject_id: s.id,
          flow_token_id: null,
          response: s.cipher.encrypt(
            '{"screen":"BOOKING","party_size":"2"}',
            'flow_responses',
            'response',
            fr,
          ),
        })
        .execute();
      if (i % MEDIA_EVERY === 0) {
        const m = crypto.randomUUID();
        await tx
          .insertInto('media')
          .values({
            id: m,
            tenant_id: tenantId,
            subject_id: s.id,
            message_id: messageIds[0]!,
            media_ref: s.cipher.encrypt('1234567890123456', 'media', 'media_ref', m),
            mime_type: 'image/jpeg',
            received_at: new Date(),
          })
          .execute();
      }
      return s.id;
    });
    out.push({ person, subjectId });
  }
  return out;
}

/** Row counts and on-disk size of the store, for the report. */
export async function storeShape(db: Kysely<DB>, pg: boolean): Promise<string> {
  const count = async (t: string) =>
    Number(
      (await sql<{ n: string }>`select count(*)::text as n from ${sql.table(t)}`.execute(db)).rows[0]?.n ?? 0,
    );
  const tables = ['subjects', 'identities', 'messages', 'flow_responses', 'media', 'privacy_requests'];
  const parts = [];
  for (const t of tables) parts.push(`${t} ${(await count(t)).toLocaleString('en-US')}`);
  if (pg) {
    const size = await sql<{
      s: string;
    }>`select pg_size_pretty(pg_database_size(current_database())) as s`.execute(db);
    parts.push(`database ${size.rows[0]?.s ?? '?'}`);
  }
  return parts.join(', ');
}
