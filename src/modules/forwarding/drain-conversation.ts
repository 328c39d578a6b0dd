import crypto from 'node:crypto';
import type { AppContext } from '../../app/context.js';
import { isAppError } from '../../lib/errors.js';
import { deliver, DELIVERY_TIMEOUT_MS, type ForwardTarget } from './deliver.js';
import { FORWARD_QUEUE, type DrainKey } from './enqueue-forward.js';
import { createForwardOutboxRepo } from './forward-outbox.repo.js';
import { openBody } from './outbox-body.js';

/**
 * Deliver one conversation's pending events to one target, strictly in id order. The head row is leased to
 * this drain; a failed head stops the drain (later rows wait behind it) and stays leased while this job backs
 * off, so other jobs of the conversation do not retry it in parallel.
 */

export type DrainDeps = Pick<
  AppContext,
  'database' | 'tenants' | 'keyring' | 'subjectKeys' | 'queue' | 'logger' | 'metrics' | 'clock'
>;

export interface DrainOptions {
  /** Who holds the lease: the pg-boss job id (stable across its retries). */
  owner?: string;
  /** Seconds to keep the failed head leased to this owner, until its next retry; 0 releases it (last attempt). */
  holdOnFailureSeconds?: number;
  /** Stop after this long and enqueue a continuation, well inside the job's expiry. */
  budgetMs?: number;
  timeoutMs?: number;
}

export type DrainResult =
  | { outcome: 'drained' | 'busy' | 'continued'; delivered: number; dropped: number }
  | { outcome: 'failed'; delivered: number; dropped: number; error: string };

export class ForwardDeliveryError extends Error {
  constructor(readonly reason: string) {
    super(`forward delivery failed: ${reason}`);
    this.name = 'ForwardDeliveryError';
  }
}

const LEASE_MARGIN_SECONDS = 20;

async function targetOf(deps: DrainDeps, key: DrainKey): Promise<ForwardTarget | undefined> {
  try {
    const tenant = await deps.tenants.get(key.tenantId);
    return tenant.settings.forward[key.targetIndex];
  } catch (err) {
    if (isAppError(err, 'TENANT_NOT_FOUND')) return undefined;
    throw err;
  }
}

export async function drainConversation(
  deps: DrainDeps,
  key: DrainKey,
  opts: DrainOptions = {},
): Promise<DrainResult> {
  const repo = createForwardOutboxRepo(deps.database.db);
  const owner = opts.owner ?? crypto.randomUUID();
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const leaseSeconds = timeoutMs / 1000 + LEASE_MARGIN_SECONDS;
  const started = Date.now();
  const counted = { delivered: 0, dropped: 0 };
  const log = deps.logger.child({ tenant: key.tenantId, target: key.targetIndex });

  const target = await targetOf(deps, key);
  if (!target) {
    const n = await repo.dropAll(key);
    if (n) {
      deps.metrics.forwardDeliveries.inc({ outcome: 'dropped' }, n);
      log.warn({ dropped: n }, 'forward target no longer configured; pending deliveries dropped');
    }
    return { outcome: 'drained', ...counted, dropped: n };
  }

  for (;;) {
    if (opts.budgetMs !== undefined && Date.now() - started > opts.budgetMs) {
      await deps.queue.send(deps.database.db, FORWARD_QUEUE, key);
      return { outcome: 'continued', ...counted };
    }
    const claim = await repo.claimHead(key, owner, leaseSeconds);
    if (claim.kind !== 'claimed') return { outcome: claim.kind === 'empty' ? 'drained' : 'busy', ...counted };
    const row = claim.row;

    const body = await openBody(deps, deps.database.db, row);
    if (body === undefined) {
      // The subject was erased between enqueue and now (its key is gone): nothing left to deliver.
      await repo.remove(row.id);
      deps.metrics.forwardDeliveries.inc({ outcome: 'dropped' });
      counted.dropped++;
      continue;
    }

    const result = await deliver(target, { id: row.id, body, timestamp: deps.clock() }, timeoutMs);
    if (result.ok) {
      await repo.remove(row.id);
      deps.metrics.forwardDeliveries.inc({ outcome: 'delivered' });
      counted.delivered++;
      continue;
    }
    await repo.recordFailure(row.id, result.error, opts.holdOnFailureSeconds ?? 0);
    deps.metrics.forwardDeliveries.inc({ outcome: 'failed' });
    log.warn(
      { delivery: row.id, attempts: row.attempts + 1, error: result.error },
      'forward delivery failed',
    );
    return { outcome: 'failed', ...counted, error: result.error };
  }
}
