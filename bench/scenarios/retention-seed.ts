import { sql } from 'kysely';
import type { AppContext } from '../../src/app/context.js';
import { createFieldCipher, newDataKey } from '../../src/lib/crypto/index.js';

/**
 * Own-store rows for the retention sweep: `expired` message rows older than the messages period (90 days by
 * default: 100-400 days old), four per subject, plus one recent message per subject that must survive.
 * Subjects were seen recently, so no other category (inactive contacts) expires with them.
 */
export const EXPIRED_PER_SUBJECT = 4;
const CHUNK = 50_000;

export async function seedExpiredMessages(
  app: Pick<AppContext, 'keyring' | 'database'>,
  tenantId: string,
  expired: number,
  log: (line: string) => void,
): Promise<{ subjects: number; fresh: number }> {
  const db = app.database.db;
  const subjects = Math.ceil(expired / EXPIRED_PER_SUBJECT);
  const phone = createFieldCipher(newDataKey()).encrypt('+15550000000', 'identities', 'value', 'x');
  const pg = app.database.kind === 'postgres';
  for (let from = 0; from < subjects; from += CHUNK) {
    const to = Math.min(subjects, from + CHUNK);
    const range = sql`generate_series(${from}::int, ${to - 1}::int) as g(i)`;
    const sid = sql`md5('rs' || i)::uuid`;
    await db.transaction().execute(async (tx) => {
      if (pg) await sql`set local session_replication_role = replica`.execute(tx);
      await sql`insert into subjects (id, tenant_id, profile_name, first_seen_at, last_seen_at, created_at)
        select ${sid}, ${tenantId}, null, now() - interval '400 days', now() - random() * interval '20 days',
               now() - interval '400 days' from ${range}`.execute(tx);
      await sql`insert into identities (id, tenant_id, subject_id, kind, blind_index, value)
        select md5('ri' || i)::uuid, ${tenantId}, ${sid}, 'phone',
               encode(sha256(convert_to('rb'::text || i, 'UTF8')), 'hex'), ${phone} from ${range}`.execute(
        tx,
      );
      // j = 0: the recent message that stays; 1..EXPIRED_PER_SUBJECT: expired ones (the last subject may have fewer).
      await sql`insert into messages (id, tenant_id, subject_id, event_key, direction, type, sent_at, content, created_at)
        select md5('rm' || i || '.' || j)::uuid, ${tenantId}, ${sid},
               encode(sha256(convert_to('re'::text || i || '.' || j, 'UTF8')), 'hex'),
               'inbound', 'text', t, null, t
        from ${range} cross join generate_series(0, ${EXPIRED_PER_SUBJECT}::int) as m(j)
        cross join lateral (
          select case when j = 0 then now() - random() * interval '20 days'
                      else now() - interval '100 days' - random() * interval '300 days' end as t
        ) ts
        where j = 0 or i * ${EXPIRED_PER_SUBJECT}::int + j <= ${expired}::int`.execute(tx);
    });
    if (subjects > CHUNK)
      log(`retention: seeded ${(to * EXPIRED_PER_SUBJECT).toLocaleString('en-US')} expired messages`);
  }
  await sql`analyze`.execute(db);
  return { subjects, fresh: subjects };
}
