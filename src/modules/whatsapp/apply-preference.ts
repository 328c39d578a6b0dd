import type { Identity } from '../../lib/phone.js';
import { blindIndex, blindIndexes } from '../subjects/index.js';
import type { Executor, IngestDeps } from './ingest-deps.js';

export type SuppressionReason = 'stop_keyword' | 'user_preferences';

/**
 * Marketing opt-out (GDPR Art. 21(3), CCPA 1798.120): `stop` flags the subject and adds a suppression row (keyed
 * blind index only, no plaintext; kept after erasure) for every identity of the person; `resume` clears both.
 * Works without a subject too: a STOP from someone flowguard never stored is still honoured.
 */
export async function applyPreference(
  deps: Pick<IngestDeps, 'keyring'>,
  tx: Executor,
  input: {
    tenantId: string;
    subjectId: string | undefined;
    identities: Identity[];
    value: 'stop' | 'resume';
    reason: SuppressionReason;
  },
): Promise<void> {
  const { tenantId, subjectId } = input;
  const entries = new Map<string, Identity['kind']>();
  for (const identity of input.identities)
    entries.set(blindIndex(deps.keyring, tenantId, identity), identity.kind);
  if (subjectId) {
    const linked = await tx
      .selectFrom('identities')
      .select(['kind', 'blind_index'])
      .where('subject_id', '=', subjectId)
      .execute();
    for (const row of linked) entries.set(row.blind_index, row.kind);
  }
  if (entries.size === 0) return;

  if (input.value === 'stop') {
    await tx
      .insertInto('suppressions')
      .values(
        [...entries].map(([bi, kind]) => ({
          tenant_id: tenantId,
          kind,
          blind_index: bi,
          reason: input.reason,
        })),
      )
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'blind_index']).doNothing())
      .execute();
  } else {
    // A resume clears the STOP whichever blind-index version recorded it.
    const all = new Set([
      ...entries.keys(),
      ...input.identities.flatMap((identity) => blindIndexes(deps.keyring, tenantId, identity)),
    ]);
    // The kinds (every identity's is in `entries`) make the delete a lookup on the primary key
    // (tenant_id, kind, blind_index), not a scan of every suppression of the tenant.
    await tx
      .deleteFrom('suppressions')
      .where('tenant_id', '=', tenantId)
      .where('kind', 'in', [...new Set(entries.values())])
      .where('blind_index', 'in', [...all])
      .execute();
  }
  if (subjectId) {
    const optOut = input.value === 'stop';
    await tx
      .updateTable('subjects')
      .set({ marketing_opt_out: optOut })
      .where('id', '=', subjectId)
      .where('marketing_opt_out', '=', !optOut)
      .execute();
  }
}
