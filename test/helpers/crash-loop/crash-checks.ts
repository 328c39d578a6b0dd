import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Keyring } from '../../../src/lib/crypto/index.js';
import type { DB } from '../../../src/lib/db/schema.js';
import type { KeyStore } from '../../../src/modules/keys/index.js';
import { BusinessSystems } from './business-systems.js';
import type { Erasure } from './erasure-scripts.js';
import { erasureRequests, orphanedWork, ownHold, subjectRefOf } from './own-store.js';

/**
 * The crash loop's invariants, as lists of faults (empty: holds). `atCrash` judges the store exactly as a
 * SIGKILL left it (the server is dead, nothing has recovered yet); `atEnd` judges the final state after every
 * request completed and the server stopped.
 */

type Tracked = Erasure;

const OPEN_OR_DONE = ['executing', 'completed'];

export async function atCrash(
  db: Kysely<DB>,
  keyring: Keyring,
  people: Tracked[],
  systems: string[],
  killedAt: number,
): Promise<string[]> {
  const faults: string[] = [];
  const requests = await erasureRequests(db);
  const byRef = new Map<string, typeof requests>();
  for (const r of requests) byRef.set(r.subject_ref, [...(byRef.get(r.subject_ref) ?? []), r]);
  const ids = new Set(requests.map((r) => r.id));
  for (const [i, t] of people.entries()) {
    if (!t.started) continue;
    const who = `person ${i} (${t.channel})`;
    const hold = await ownHold(db, keyring, t.person, t.subjectId);
    if (hold.state === 'partial') faults.push(`${who} is partly erased: ${JSON.stringify(hold.counts)}`);
    if (hold.state === 'present') t.subjectId = hold.subjectId;
    if (t.erasedAt !== undefined && t.erasedAt < killedAt && hold.state !== 'absent')
      faults.push(`${who}: erasure acknowledged before the kill, but ${hold.state} in the own store`);
    const eraseSent = t.eraseSentAt !== undefined && t.eraseSentAt < killedAt;
    if (t.knownAt !== undefined && t.knownAt < killedAt && hold.state === 'absent' && !eraseSent)
      faults.push(`${who}: first messages acknowledged before the kill, not in the own store`);
    if (t.requestId && t.accepted && !ids.has(t.requestId))
      faults.push(`${who}: accepted request ${t.requestId} is not in the store`);
    if (t.subjectId) {
      const mine = (byRef.get(subjectRefOf(keyring, t.subjectId)) ?? []).filter((r) =>
        OPEN_OR_DONE.includes(r.status),
      );
      if (hold.state === 'present' && mine.length > 0)
        faults.push(`${who}: present in the own store, yet request ${mine[0]!.id} is ${mine[0]!.status}`);
      if (hold.state === 'absent' && mine.length !== 1)
        faults.push(`${who}: absent from the own store with ${mine.length} erasure requests carried out`);
    }
  }
  faults.push(...(await orphanedWork(db, systems)));
  return faults;
}

export interface EndFigures {
  requests: number;
  erasesAskedTwice: number;
}

export async function atEnd(
  db: Kysely<DB>,
  keyring: Keyring,
  keyStore: Pick<KeyStore, 'present'>,
  business: BusinessSystems,
  people: Tracked[],
  controls: Tracked[],
  systems: string[],
): Promise<{ faults: string[]; figures: EndFigures }> {
  const faults: string[] = [];
  const requests = await erasureRequests(db);
  if (requests.length !== people.length)
    faults.push(`${requests.length} erasure requests in the store for ${people.length} people`);
  const notDone = requests.filter((r) => r.status !== 'completed');
  if (notDone.length) faults.push(`requests not completed: ${JSON.stringify(notDone)}`);
  const ids = new Set(requests.map((r) => r.id));
  for (const [i, t] of people.entries()) {
    const who = `person ${i} (${t.channel})`;
    if (!t.accepted) faults.push(`${who}: erasure never accepted`);
    if (t.requestId && !ids.has(t.requestId)) faults.push(`${who}: accepted request ${t.requestId} lost`);
    const hold = await ownHold(db, keyring, t.person, t.subjectId);
    if (hold.state !== 'absent')
      faults.push(`${who}: ${hold.state} in the own store ${JSON.stringify(hold.counts)}`);
    const left = await business.left(t.person);
    if (Object.values(left).some((n) => n !== 0))
      faults.push(`${who}: left in the systems ${JSON.stringify(left)}`);
    if (t.subjectId) {
      const mine = requests.filter((r) => r.subject_ref === subjectRefOf(keyring, t.subjectId!));
      if (mine.length !== 1) faults.push(`${who}: ${mine.length} erasure requests`);
    }
  }
  for (const [i, c] of controls.entries()) {
    const hold = await ownHold(db, keyring, c.person, undefined);
    if (hold.state !== 'present') faults.push(`control ${i}: ${hold.state} in the own store`);
    const left = await business.left(c.person);
    if (Object.values(left).reduce((a, b) => a + b, 0) !== BusinessSystems.HELD)
      faults.push(`control ${i}: systems hold ${JSON.stringify(left)}`);
  }
  faults.push(...(await orphanedWork(db, systems)));
  const tasks = await db
    .selectFrom('request_tasks')
    .select(['status'])
    .where('status', '!=', 'done')
    .execute();
  if (tasks.length) faults.push(`${tasks.length} tasks not done`);
  const dead = await sql<{ n: string }>`
    select count(*)::text as n from pgboss.job where name like '%.dead'`.execute(db);
  if (Number(dead.rows[0]!.n) !== 0) faults.push(`${dead.rows[0]!.n} dead letters`);
  // Crypto-shredding: every deleted subject's journal entry was shredded and its key is gone from the key store.
  const journal = await db.selectFrom('erasure_journal').select(['ref', 'shredded_at']).execute();
  if (journal.length !== people.length) faults.push(`${journal.length} erasure journal entries`);
  if (journal.some((j) => j.shredded_at === null)) faults.push('erasure journal entries not shredded');
  const kept = await keyStore.present(journal.flatMap((j) => (j.ref ? [j.ref] : [])));
  if (kept.size) faults.push(`${kept.size} erased subjects' keys still in the key store`);
  // The http system is asked once per request; a kill mid-erase makes it ask again (harmless), never less.
  const calls = business.receiver.erases;
  const perRequest = new Map<string, number>();
  for (const c of calls) perRequest.set(c.requestId, (perRequest.get(c.requestId) ?? 0) + 1);
  for (const r of requests)
    if (!perRequest.has(r.id)) faults.push(`request ${r.id}: the http system was never asked`);
  const erasesAskedTwice = [...perRequest.values()].filter((n) => n > 1).length;
  return { faults, figures: { requests: requests.length, erasesAskedTwice } };
}
