import { setTimeout as sleep } from 'node:timers/promises';
import { createContext } from '../../../src/app/context.js';
import { loadConfig } from '../../../src/config/config.js';
import { createLogger } from '../../../src/lib/log.js';
import { listDeadLetters } from '../../../src/modules/dlq/dead-letters.js';
import { LogCapture } from '../test-app.js';
import { BusinessSystems } from './business-systems.js';
import type { LoadStats } from './load-stats.js';
import type { Population } from './population.js';

export interface StoreFigures {
  people: number;
  erased: number;
  /** Messages flowguard holds at the end (= acknowledged messages of the people not erased). */
  messages: number;
}

/**
 * After the load, read flowguard's store (PostgreSQL, beside the running server) and the business's systems:
 * every person not erased holds exactly the messages flowguard acknowledged, and all their rows, keys and
 * fields in the systems; every erased person is unknown to flowguard and absent from the systems; nobody named
 * only in a refused delivery was stored; every request completed, every notification went out, and no job
 * is in a dead-letter queue. Each broken promise is a lost write.
 */
export async function verifyStore(
  input: { env: Record<string, string | undefined>; dir: string },
  population: Population,
  systems: BusinessSystems,
  stats: LoadStats,
): Promise<StoreFigures> {
  const ctx = await createContext(loadConfig(input.env, input.dir), {
    logger: createLogger('warn', new LogCapture()),
  });
  try {
    const db = ctx.database.db;
    const tenant = await ctx.tenants.getDefault();
    const messages = async (subjectId?: string) => {
      let q = db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('n'));
      if (subjectId) q = q.where('subject_id', '=', subjectId);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    const unsent = async () =>
      Number(
        (
          await db
            .selectFrom('outbound_notifications')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    let expected = 0;
    for (const lp of population.people) {
      const subjectId = await ctx.subjects.find(db, tenant.id, [{ kind: 'phone', value: lp.person.e164 }]);
      const held = await systems.held(lp.person);
      if (lp.erasure) {
        if (subjectId)
          stats.lost('erasure', `an erased person (${lp.erasure.via}) is still known to flowguard`);
        if (held !== 0) stats.lost('erasure', `an erased person has ${held} rows/keys/fields in the systems`);
        continue;
      }
      expected += lp.acked.size;
      const stored = subjectId ? await messages(subjectId) : 0;
      if (stored !== lp.acked.size) {
        stats.lost('messages', `${lp.acked.size} messages acknowledged, ${stored} stored`);
      }
      if (held !== BusinessSystems.HELD) {
        stats.lost(
          'systems',
          `a person nobody erased has ${held} of ${BusinessSystems.HELD} rows/keys/fields`,
        );
      }
    }
    for (const p of population.strangers) {
      if (await ctx.subjects.find(db, tenant.id, [{ kind: 'phone', value: p.e164 }])) {
        stats.error('refused.bad-signature', 'a person named only in a refused delivery was stored');
      }
    }
    const total = await messages();
    if (total !== expected) stats.lost('messages', `${total} messages stored in all, ${expected} expected`);

    const open = await db
      .selectFrom('privacy_requests')
      .select(['type', 'status'])
      .where('status', '!=', 'completed')
      .execute();
    for (const r of open) stats.lost('requests', `a ${r.type} request ended ${r.status}`);
    // Notifications are sent by the queue after their request; give the last ones a moment.
    for (let i = 0; i < 60 && (await unsent()) > 0; i++) await sleep(500);
    const left = await unsent();
    if (left > 0) stats.lost('notifications', `${left} notifications to people were never sent`);
    for (const dead of await listDeadLetters(db))
      stats.error('queue', `a ${dead.queue} job is dead-lettered`);
    return { people: population.people.length, erased: population.erased.length, messages: total };
  } finally {
    await ctx.close();
  }
}
