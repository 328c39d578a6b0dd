import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DB } from '../../src/lib/db/schema.js';
import { isAppError } from '../../src/lib/errors.js';
import { chainHash } from '../../src/modules/audit/chain-hash.js';
import {
  appendAudit,
  appendAuditMany,
  auditSubjectRef,
  batchHoldsChainLock,
  takeHeldAudit,
  verifyAuditChain,
  withAuditBatch,
  type AuditEvent,
} from '../../src/modules/audit/index.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

type Row = {
  seq: number;
  id: string;
  event_type: string;
  prev_hash: string;
  hash: string;
  subject_ref: string | null;
};

/** Turn the append-only triggers off the way someone with database access would, do `fn`, turn them back on. */
async function asAttacker(db: Kysely<DB>, fn: () => Promise<unknown>): Promise<void> {
  await sql`alter table audit_log disable trigger user`.execute(db);
  await sql`alter table audit_head disable trigger user`.execute(db);
  try {
    await fn();
  } finally {
    await sql`alter table audit_log enable trigger user`.execute(db);
    await sql`alter table audit_head enable trigger user`.execute(db);
  }
}

function sampleEvent(i: number): AuditEvent {
  const pick = i % 4;
  if (pick === 0)
    return {
      type: 'webhook.ingested',
      tenantId: 'default',
      actor: { type: 'system' },
      data: { inbound: i, statuses: 1 },
    };
  if (pick === 1) {
    return {
      type: 'request.received',
      tenantId: 'default',
      actor: { type: 'subject' },
      subject: { subjectId: crypto.randomUUID() },
      requestId: crypto.randomUUID(),
      data: { type: 'erasure', channel: 'flow', scope: 'all' },
    };
  }
  if (pick === 2) {
    return {
      type: 'erasure.own_store',
      tenantId: 'default',
      actor: { type: 'system', id: 'dsr' },
      data: { scope: 'all', counts: { messages: i, identities: 2, data_key: 1 } },
    };
  }
  return {
    type: 'admin.access',
    tenantId: 'default',
    actor: { type: 'admin', id: crypto.randomUUID() },
    data: { resource: 'request', action: 'view' },
  };
}

/** Rows as the chain hashes them, from `fromSeq` on. */
async function fullRows(db: Kysely<DB>, fromSeq: number) {
  const r = await db
    .selectFrom('audit_log')
    .selectAll()
    .where(sql<boolean>`seq >= ${fromSeq}`)
    .orderBy('seq')
    .execute();
  return r.map((x) => ({ ...x, seq: Number(x.seq), occurred_at: new Date(x.occurred_at) }));
}

async function rows(db: Kysely<DB>): Promise<Row[]> {
  const r = await sql<Row & { seq: string }>`
    select seq::text as seq, id, event_type, prev_hash, hash, subject_ref from audit_log order by audit_log.seq`.execute(
    db,
  );
  return r.rows.map((x) => ({ ...x, seq: Number(x.seq) }));
}

describe.each(storeKinds())('audit log on %s', (kind) => {
  let t: TestApp;
  let db: Kysely<DB>;
  const append = (n: number, offset = 0) =>
    db.transaction().execute(async (tx) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await appendAudit(tx, t.ctx.keyring, sampleEvent(offset + i)));
      return out;
    });

  beforeAll(async () => {
    t = await createTestApp(kind);
    db = t.ctx.database.db;
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await asAttacker(db, async () => {
      await sql`delete from audit_log`.execute(db);
      await sql`delete from audit_head`.execute(db);
    });
  });

  it('writes in the caller transaction: a rolled-back event leaves no trace and the chain still verifies', async () => {
    const subjectId = crypto.randomUUID();
    const first = await db.transaction().execute(async (tx) => [
      await appendAudit(tx, t.ctx.keyring, {
        type: 'subject.created',
        tenantId: 'default',
        actor: { type: 'system' },
        subject: { subjectId },
        data: { channel: 'webhook', identities: 1 },
      }),
    ]);
    first.push(...(await append(3)));
    const rolledBack: string[] = [];
    await expect(
      db.transaction().execute(async (tx) => {
        for (let i = 0; i < 2; i++)
          rolledBack.push((await appendAudit(tx, t.ctx.keyring, sampleEvent(i))).id);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const last = await append(2, 10);

    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 6 });
    const all = await rows(db);
    expect(all.map((r) => r.id)).toEqual([...first, ...last].map((e) => e.id));
    expect(all.some((r) => rolledBack.includes(r.id))).toBe(false);
    // seq is the tail's + 1 under the lock: the rolled-back appends left no hole.
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => all[0]!.seq + i));
    expect(all[0]!.prev_hash).toBe('0'.repeat(64));
    const head = await db
      .selectFrom('audit_head')
      .select([sql<string>`seq::text`.as('seq'), 'hash'])
      .executeTakeFirstOrThrow();
    expect({ seq: Number(head.seq), hash: head.hash }).toEqual({
      seq: all.at(-1)!.seq,
      hash: all.at(-1)!.hash,
    });

    // The subject is keyed with the audit HMAC key: neither the id nor a plain hash of it is stored.
    const ref = all[0]!.subject_ref!;
    expect(ref).toBe(t.ctx.keyring.hmac('audit-subject', subjectId));
    expect(ref).toBe(auditSubjectRef(t.ctx.keyring, { subjectId }));
    expect(ref).not.toBe(crypto.createHash('sha256').update(subjectId).digest('hex'));
    const dump = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute());
    expect(dump).not.toContain(subjectId);
    expect(dump).toContain('"key_version":"a1"');
  });

  it('an append after a savepoint rolled back an earlier one of the same transaction links to the real tail', async () => {
    await append(2);
    const kept = await db.transaction().execute(async (tx) => {
      const before = await appendAudit(tx, t.ctx.keyring, sampleEvent(1));
      await sql`savepoint undo_me`.execute(tx);
      await appendAudit(tx, t.ctx.keyring, sampleEvent(2));
      await sql`rollback to savepoint undo_me`.execute(tx);
      const after = await appendAudit(tx, t.ctx.keyring, sampleEvent(3));
      return [before, after];
    });
    expect(kept[1]!.seq).toBe(kept[0]!.seq + 1);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 4 });
  });

  it('appends several events with one statement, chained after and before single appends of the transaction', async () => {
    await append(2);
    const written = await db.transaction().execute(async (tx) => {
      const one = await appendAudit(tx, t.ctx.keyring, sampleEvent(1));
      const many = await appendAuditMany(tx, t.ctx.keyring, [sampleEvent(2), sampleEvent(3), sampleEvent(4)]);
      const after = await appendAudit(tx, t.ctx.keyring, sampleEvent(5));
      expect(await appendAuditMany(tx, t.ctx.keyring, [])).toEqual([]);
      return [one, ...many, after];
    });
    expect(written.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    const all = await rows(db);
    expect(all.slice(2).map((r) => ({ seq: r.seq, id: r.id, hash: r.hash }))).toEqual(written);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 7 });
    // The first event of an empty log links to the genesis hash, several at once as well.
    await asAttacker(db, async () => {
      await sql`delete from audit_log`.execute(db);
      await sql`delete from audit_head`.execute(db);
    });
    await db
      .transaction()
      .execute((tx) => appendAuditMany(tx, t.ctx.keyring, [sampleEvent(0), sampleEvent(1)]));
    expect((await rows(db))[0]!.prev_hash).toBe('0'.repeat(64));
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 2 });
  });

  it('validates every event of appendAuditMany before writing any', async () => {
    const err = await db
      .transaction()
      .execute((tx) =>
        appendAuditMany(tx, t.ctx.keyring, [
          sampleEvent(0),
          { type: 'no.such_event', tenantId: 'default', actor: { type: 'system' }, data: {} } as never,
        ]),
      )
      .catch((e: unknown) => e);
    expect(isAppError(err, 'AUDIT_EVENT_INVALID')).toBe(true);
    expect(await rows(db)).toEqual([]);
  });

  it('a batch writes its events with one statement when it ends, as they were returned; nothing when it throws', async () => {
    await append(1);
    const statements: string[] = [];
    const returned = await db.transaction().execute(async (tx) => {
      const out = await withAuditBatch(tx, async () => {
        const a = await appendAudit(tx, t.ctx.keyring, sampleEvent(1));
        const b = await appendAuditMany(tx, t.ctx.keyring, [sampleEvent(2), sampleEvent(3)]);
        // Nested: one batch, written by the outermost.
        const c = await withAuditBatch(tx, () => appendAudit(tx, t.ctx.keyring, sampleEvent(4)));
        const seen = await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(tx);
        statements.push(`inside: ${seen.rows[0]!.n}`);
        return [a, ...b, c];
      });
      const seen = await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(tx);
      statements.push(`after: ${seen.rows[0]!.n}`);
      // The transaction's tail is the batch's last row: a later append links to it.
      out.push(await appendAudit(tx, t.ctx.keyring, sampleEvent(5)));
      return out;
    });
    expect(statements).toEqual(['inside: 1', 'after: 5']);
    expect(returned.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    const all = await rows(db);
    expect(all.slice(1).map((r) => ({ seq: r.seq, id: r.id, hash: r.hash }))).toEqual(returned);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 6 });

    await expect(
      db.transaction().execute(async (tx) => {
        await appendAudit(tx, t.ctx.keyring, sampleEvent(6));
        await withAuditBatch(tx, async () => {
          await appendAudit(tx, t.ctx.keyring, sampleEvent(7));
          throw new Error('the change failed');
        });
      }),
    ).rejects.toThrow('the change failed');
    // A batch whose transaction goes on after a failure inside it wrote nothing of it.
    await db.transaction().execute(async (tx) => {
      await withAuditBatch(tx, async () => {
        await appendAudit(tx, t.ctx.keyring, sampleEvent(8));
        throw new Error('caught');
      }).catch(() => undefined);
      await appendAudit(tx, t.ctx.keyring, sampleEvent(9));
    });
    expect((await rows(db)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 7 });
  });

  it("hands a batch's events to a statement of the caller; a checkpoint moved meanwhile fails it", async () => {
    await append(1);
    /** The caller's statement: here it only writes the events it was handed (a real one makes its own change). */
    const writeWith = async (tx: Kysely<DB>) => {
      const held = takeHeldAudit(tx);
      if (!held) throw new Error('nothing held');
      const r = await sql<{ seq: string | null }>`
        with audit_rows as ${held.ctes.audit_rows}, audit_moved as ${held.ctes.audit_moved}
        select (select seq::text from audit_moved) as seq`.execute(tx);
      held.written(r.rows[0]?.seq);
    };
    const returned = await db.transaction().execute((tx) =>
      withAuditBatch(tx, async () => {
        // Before the batch's first append the chain is not locked: nothing can be handed over yet.
        expect(batchHoldsChainLock(tx)).toBe(false);
        expect(takeHeldAudit(tx)).toBeUndefined();
        const a = await appendAuditMany(tx, t.ctx.keyring, [sampleEvent(1), sampleEvent(2)]);
        expect(batchHoldsChainLock(tx)).toBe(true);
        await writeWith(tx);
        expect(takeHeldAudit(tx)).toBeUndefined();
        const seen = await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(tx);
        expect(seen.rows[0]!.n).toBe('3');
        // Appended after the hand-over: links to the handed events, written when the batch ends.
        const b = await appendAudit(tx, t.ctx.keyring, sampleEvent(3));
        return [...a, b];
      }),
    );
    expect(returned.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect((await rows(db)).slice(1).map((r) => ({ seq: r.seq, id: r.id, hash: r.hash }))).toEqual(returned);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 4 });

    // Another handle of the same transaction appends after the batch took the lock: the handed events no longer
    // link to the checkpoint, the statement writes none of them and the transaction fails rather than fork.
    await expect(
      db.transaction().execute((tx) =>
        withAuditBatch(tx, async () => {
          await appendAudit(tx, t.ctx.keyring, sampleEvent(4));
          await appendAudit(tx.withoutPlugins(), t.ctx.keyring, sampleEvent(5));
          await writeWith(tx);
        }),
      ),
    ).rejects.toThrow('audit: the checkpoint moved');
    expect((await rows(db)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 4 });
  });

  // On the embedded store the other transaction waits for the session itself; the outcome must be the same.
  it('a batch holds the chain from its first append: a concurrent append waits and links after it', async () => {
    await append(1);
    let appendedInBatch!: () => void;
    const inBatch = new Promise<void>((r) => (appendedInBatch = r));
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const batched = db.transaction().execute((tx) =>
      withAuditBatch(tx, async () => {
        const e = await appendAudit(tx, t.ctx.keyring, sampleEvent(1));
        appendedInBatch();
        await finished;
        return e;
      }),
    );
    await inBatch;
    let other: { seq: number } | undefined;
    const concurrent = db
      .transaction()
      .execute((tx) => appendAudit(tx, t.ctx.keyring, sampleEvent(2)))
      .then((e) => (other = e));
    await new Promise((r) => setTimeout(r, 100));
    expect(other).toBeUndefined();
    finish();
    expect((await batched).seq).toBe(2);
    await concurrent;
    expect(other!.seq).toBe(3);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 3 });
  });

  it('refuses an event outside the catalog and writes nothing of the transaction', async () => {
    const err = await db
      .transaction()
      .execute(async (tx) => {
        await appendAudit(tx, t.ctx.keyring, sampleEvent(0));
        await appendAudit(tx, t.ctx.keyring, {
          type: 'api_key.created',
          tenantId: 'default',
          actor: { type: 'cli' },
          data: { api_key_id: '+15550100123', role: 'service' },
        });
      })
      .catch((e: unknown) => e);
    expect(isAppError(err, 'AUDIT_EVENT_INVALID')).toBe(true);
    expect(await rows(db)).toEqual([]);
    await expect(appendAudit(db, t.ctx.keyring, sampleEvent(0))).rejects.toThrow(/inside the transaction/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE from the application', async () => {
    await append(2);
    const attempts = [
      sql`update audit_log set event_type = 'request.completed'`,
      sql`delete from audit_log`,
      sql`truncate audit_log`,
      sql`delete from audit_head`,
    ];
    for (const statement of attempts) {
      await expect(db.transaction().execute((tx) => statement.execute(tx))).rejects.toThrow(/append-only/);
    }
    expect(await rows(db)).toHaveLength(2);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 2 });
  });

  it('keeps one valid chain when 8 transactions append at once', async () => {
    // On PostgreSQL all 8 transactions are open together before any appends (a barrier); PGlite runs them in turn.
    let open = 0;
    let release!: () => void;
    const allOpen = new Promise<void>((r) => (release = r));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        db.transaction().execute(async (tx) => {
          await sql`select 1`.execute(tx);
          if (kind === 'postgres') {
            if (++open === 8) release();
            await allOpen;
          }
          const out = [];
          for (let i = 0; i < 3; i++) {
            out.push(await appendAudit(tx, t.ctx.keyring, sampleEvent(n * 3 + i)));
            if (kind === 'postgres') await sql`select pg_sleep(0.002)`.execute(tx);
          }
          return out.map((e) => e.seq);
        }),
      ),
    );
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 24 });
    const all = await rows(db);
    expect(new Set(all.map((r) => r.prev_hash)).size).toBe(24);
    // The lock is held to commit, so each transaction's events are consecutive in the chain.
    const order = all.map((r) => r.seq);
    for (const seqs of results) {
      const at = order.indexOf(seqs[0]!);
      expect(order.slice(at, at + 3)).toEqual(seqs);
    }
  });

  it('streams in pages and verifies from a given seq (in numeric order across 999 -> 1000)', async () => {
    await sql`select setval(pg_get_serial_sequence('audit_log', 'seq'), 990)`.execute(db);
    await append(25);
    const all = await rows(db);
    expect(await verifyAuditChain(db, { batchSize: 4 })).toEqual({ ok: true, rows: 25 });
    expect(await verifyAuditChain(db, { batchSize: 4, fromSeq: all[9]!.seq })).toEqual({
      ok: true,
      rows: 16,
    });
    // The first row of the third page is edited: found exactly there.
    const victim = all[8]!;
    await asAttacker(db, () =>
      sql`update audit_log set data = '{"inbound":999,"statuses":1}' where seq = ${victim.seq}`.execute(db),
    );
    expect(await verifyAuditChain(db, { batchSize: 4 })).toEqual({
      ok: false,
      firstBadSeq: victim.seq,
      reason: 'hash_mismatch',
    });
    expect(await verifyAuditChain(db, { batchSize: 4, fromSeq: all[9]!.seq })).toEqual({
      ok: true,
      rows: 16,
    });
  });

  describe('tampering by someone who turned the triggers off', () => {
    let all: Row[];
    beforeEach(async () => {
      await append(8);
      all = await rows(db);
      expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 8 });
    });
    const tamper = (statement: ReturnType<typeof sql>) => asAttacker(db, () => statement.execute(db));

    it("changing a row's data or event type is a hash mismatch at that row", async () => {
      const a = all[3]!;
      await tamper(sql`update audit_log set data = jsonb_set(data, '{statuses}', '7') where seq = ${a.seq}`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: a.seq, reason: 'hash_mismatch' });
      const b = all[1]!;
      await tamper(sql`update audit_log set event_type = 'request.completed' where seq = ${b.seq}`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: b.seq, reason: 'hash_mismatch' });
    });

    it('a row rewritten with a recomputed hash breaks the link of the next row', async () => {
      const a = all[4]!;
      const [full] = await fullRows(db, a.seq);
      const data = { ...full!.data, inbound: 0 };
      const hash = chainHash(full!.prev_hash, { ...full!, data });
      await tamper(
        sql`update audit_log set data = ${JSON.stringify(data)}::jsonb, hash = ${hash} where seq = ${a.seq}`,
      );
      expect(await verifyAuditChain(db)).toEqual({
        ok: false,
        firstBadSeq: all[5]!.seq,
        reason: 'broken_link',
      });
    });

    it('deleting a middle row is a gap at the row after it', async () => {
      await tamper(sql`delete from audit_log where seq = ${all[2]!.seq}`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: all[3]!.seq, reason: 'gap' });
      await tamper(sql`delete from audit_log where seq = ${all[0]!.seq}`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: all[1]!.seq, reason: 'gap' });
    });

    it('deleting the tail is caught by the checkpoint, and the next append does not paper over it', async () => {
      const last = all.at(-1)!;
      await tamper(sql`delete from audit_log where seq >= ${all[6]!.seq}`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: last.seq, reason: 'gap' });
      const [next] = await append(1);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: next!.seq, reason: 'gap' });
    });

    it('a forged row appended with a valid hash but without the checkpoint is caught', async () => {
      const last = all.at(-1)!;
      const seq = last.seq + 1;
      const forged = {
        seq,
        id: crypto.randomUUID(),
        tenant_id: 'default',
        occurred_at: new Date(),
        actor_type: 'system',
        actor_id: null,
        event_type: 'request.completed',
        subject_ref: null,
        key_version: 'a1',
        request_id: null,
        data: { systems: 0, duration_ms: 1 },
      };
      const hash = chainHash(last.hash, forged);
      await tamper(sql`insert into audit_log (seq, id, tenant_id, occurred_at, actor_type, event_type, key_version, data, prev_hash, hash)
        values (${seq}, ${forged.id}, 'default', ${forged.occurred_at.toISOString()}, 'system', 'request.completed', 'a1',
                ${JSON.stringify(forged.data)}::jsonb, ${last.hash}, ${hash})`);
      expect(await verifyAuditChain(db)).toEqual({ ok: false, firstBadSeq: seq, reason: 'broken_link' });
    });

    it('rewriting the last row with a recomputed hash is caught by the checkpoint', async () => {
      const last = all.at(-1)!;
      const [full] = await fullRows(db, last.seq);
      const hash = chainHash(full!.prev_hash, { ...full!, event_type: 'request.refused' });
      await tamper(
        sql`update audit_log set event_type = 'request.refused', hash = ${hash} where seq = ${last.seq}`,
      );
      expect(await verifyAuditChain(db)).toEqual({
        ok: false,
        firstBadSeq: last.seq,
        reason: 'hash_mismatch',
      });
    });
  });
});
