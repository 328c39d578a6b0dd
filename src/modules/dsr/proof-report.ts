import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { verifyAuditChain } from '../audit/index.js';
import { createDsrRepo } from './dsr.repo.js';
import type { ProofReport } from './request-shapes.js';

const repo = createDsrRepo();

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * Proof that a request was received, verified, carried out per system and closed, for a regulator (GDPR
 * Art. 5(2), 30; 11 CCR 7101): ids, enums, times, counts and the hash-chained audit events, never the person's
 * data. The audit chain is verified from the request's first event onwards, so the events shown are the ones
 * written and nothing after them was rewritten.
 */
export async function proofReport(
  db: Kysely<DB>,
  input: { tenantId?: string | undefined; requestId: string; now: Date },
): Promise<ProofReport> {
  const r = await repo.findById(db, input.tenantId, input.requestId);
  if (!r) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  const tasks = await repo.tasks(db, r.id);
  const events = await db
    .selectFrom('audit_log')
    .select([sql<string>`seq::text`.as('seq'), 'event_type', 'occurred_at', 'actor_type', 'data', 'hash'])
    .where('request_id', '=', r.id)
    .orderBy('audit_log.seq')
    .execute();
  const fromSeq = events[0] ? Number(events[0].seq) : undefined;
  const chain = fromSeq === undefined ? undefined : await verifyAuditChain(db, { fromSeq });
  const completedAt = r.completed_at ? new Date(r.completed_at) : null;
  return {
    format: 'flowguard.proof.v1',
    generated_at: input.now.toISOString(),
    request: {
      id: r.id,
      reference: r.reference,
      tenant: r.tenant_id,
      type: r.type,
      scope: r.scope,
      channel: r.channel,
      regime: r.regime,
      status: r.status,
      verification: r.verification,
      received_at: iso(r.received_at)!,
      verified_at: iso(r.verified_at),
      completed_at: iso(completedAt),
      due_at: iso(r.due_at)!,
      original_due_at: iso(r.original_due_at)!,
      extension_reason: r.extension_reason,
      deny_reason: r.deny_reason,
      on_time: completedAt ? completedAt <= new Date(r.due_at) : null,
    },
    systems: tasks.map((t) => ({
      id: t.system_id,
      action: t.action,
      status: t.status,
      attempts: t.attempts,
      counts: t.counts,
      started_at: iso(t.created_at)!,
      completed_at: iso(t.completed_at),
    })),
    audit: {
      events: events.map((e) => ({
        seq: Number(e.seq),
        event_type: e.event_type,
        occurred_at: iso(e.occurred_at)!,
        actor_type: e.actor_type,
        data: e.data,
        hash: e.hash,
      })),
      chain: !chain
        ? { verified: false, from_seq: null, rows: 0 }
        : chain.ok
          ? { verified: true, from_seq: fromSeq ?? null, rows: chain.rows }
          : {
              verified: false,
              from_seq: fromSeq ?? null,
              rows: 0,
              first_bad_seq: chain.firstBadSeq,
              reason: chain.reason,
            },
    },
    retained: [],
    statement:
      'This report holds no personal data: the person appears in the audit log only as a keyed reference.',
  };
}
