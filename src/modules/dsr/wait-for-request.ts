import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { OPEN_STATUSES } from './dsr.repo.js';
import type { RequestView } from './request-shapes.js';
import { getRequestView } from './request-view.js';

/**
 * Poll a request until it leaves the open states (the person confirmed and it ran, or it failed or was
 * denied) or the timeout passes; returns the last view either way.
 */
export async function waitForRequest(
  db: Kysely<DB>,
  input: { tenantId?: string | undefined; requestId: string; clock: () => Date },
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<{ view: RequestView; timedOut: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const view = await getRequestView(db, input.tenantId, input.requestId, input.clock());
    if (!(OPEN_STATUSES as string[]).includes(view.status)) return { view, timedOut: false };
    if (Date.now() >= deadline) return { view, timedOut: true };
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(opts.intervalMs ?? 500, deadline - Date.now())),
    );
  }
}
