import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { DrainKey } from './enqueue-forward.js';

/** The SQL of pass-through delivery: a conversation's head row, its lease, and its removal once delivered. */

export interface HeadRow {
  id: string;
  subject_id: string | null;
  body: string;
  attempts: number;
}

export type Claim = { kind: 'empty' } | { kind: 'busy' } | { kind: 'claimed'; row: HeadRow };

function pending(db: Kysely<DB>, key: DrainKey) {
  return db
    .selectFrom('forward_outbox')
    .where('tenant_id', '=', key.tenantId)
    .where('conversation_key', '=', key.conversationKey)
    .where('target_index', '=', key.targetIndex)
    .where('delivered_at', 'is', null);
}

function secondsFromNow(seconds: number) {
  return sql<Date>`now() + ${Math.max(0, Math.ceil(seconds))}::integer * interval '1 second'`;
}

export function createForwardOutboxRepo(db: Kysely<DB>) {
  return {
    /**
     * Lock the conversation's oldest pending row and lease it to `owner` for `leaseSeconds`, unless another
     * drain holds an unexpired lease on it (that drain delivers it and everything behind it).
     */
    claimHead(key: DrainKey, owner: string, leaseSeconds: number): Promise<Claim> {
      return db.transaction().execute(async (tx) => {
        const head = await pending(tx, key)
          .select(['id', 'subject_id', 'body', 'attempts', 'lease_owner'])
          .select(sql<boolean>`coalesce(lease_until > now(), false)`.as('leased'))
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .executeTakeFirst();
        if (!head) return { kind: 'empty' } as const;
        if (head.leased && head.lease_owner !== owner) return { kind: 'busy' } as const;
        await tx
          .updateTable('forward_outbox')
          .set({ lease_owner: owner, lease_until: secondsFromNow(leaseSeconds) })
          .where('id', '=', head.id)
          .execute();
        const row: HeadRow = {
          id: String(head.id),
          subject_id: head.subject_id,
          body: head.body,
          attempts: head.attempts,
        };
        return { kind: 'claimed', row } as const;
      });
    },
    /** Delivered (or undeliverable): only the minimum is kept, so the row goes. */
    async remove(id: string): Promise<void> {
      await db.deleteFrom('forward_outbox').where('id', '=', id).execute();
    },
    /** Record a failed attempt (status or error class only) and hold the lease while the owner backs off. */
    async recordFailure(id: string, error: string, holdSeconds: number): Promise<void> {
      await db
        .updateTable('forward_outbox')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          last_error: error,
          lease_until: secondsFromNow(holdSeconds),
        }))
        .where('id', '=', id)
        .execute();
    },
    /** The target is gone from the tenant's settings: drop what was waiting for it; returns how many. */
    async dropAll(key: DrainKey): Promise<number> {
      const rows = await db
        .deleteFrom('forward_outbox')
        .where('tenant_id', '=', key.tenantId)
        .where('conversation_key', '=', key.conversationKey)
        .where('target_index', '=', key.targetIndex)
        .returning('id')
        .execute();
      return rows.length;
    },
  };
}

export type ForwardOutboxRepo = ReturnType<typeof createForwardOutboxRepo>;
