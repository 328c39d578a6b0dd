import { sql, type Kysely } from 'kysely';
import type { AppContext } from '../../app/context.js';
import type { DB } from '../../lib/db/schema.js';
import type { EnqueueForwardInput, ForwardEvent, Forwarder } from './forward.types.js';
import { sealBody } from './outbox-body.js';

export const FORWARD_QUEUE = 'forward.drain';

/** What a drain job carries: ids and indexes only, never the event. */
export interface DrainKey {
  tenantId: string;
  conversationKey: string;
  targetIndex: number;
}

export type ForwarderDeps = Pick<
  AppContext,
  'keyring' | 'subjectKeys' | 'queue' | 'logger' | 'metrics' | 'clock'
>;

/** Meta's own webhook envelope, so a downstream bot written for Meta's webhooks needs no change. */
export function forwardEnvelope(event: ForwardEvent): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: event.wabaId, changes: [{ field: event.field, value: event.value }] }],
  });
}

export function createForwarder(deps: ForwarderDeps): Forwarder {
  return {
    async enqueue(tx: Kysely<DB>, input: EnqueueForwardInput): Promise<void> {
      const targets = input.tenant.settings.forward;
      if (!targets.length) return;
      const body = forwardEnvelope(input.event);
      for (let i = 0; i < targets.length; i++) {
        // The id is taken first so the ciphertext's AAD can bind the body to its row.
        const { rows } = await sql<{
          id: string;
        }>`select nextval('forward_outbox_id_seq')::text as id`.execute(tx);
        const id = rows[0]?.id;
        if (!id) throw new Error('forward_outbox id sequence returned nothing');
        await tx
          .insertInto('forward_outbox')
          .values({
            id,
            tenant_id: input.tenant.id,
            subject_id: input.subjectId,
            target_index: i,
            conversation_key: input.conversationKey,
            body: await sealBody(deps, tx, { id, subjectId: input.subjectId }, body),
          })
          .execute();
        const key: DrainKey = {
          tenantId: input.tenant.id,
          conversationKey: input.conversationKey,
          targetIndex: i,
        };
        await deps.queue.send(tx, FORWARD_QUEUE, key);
      }
    },
  };
}
