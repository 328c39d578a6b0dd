import type { Kysely } from 'kysely';
import type { AppContext } from '../../app/context.js';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { Forwarder } from '../forwarding/index.js';
import type { MessageEvent, PartyIds } from './parse-webhook.js';
import type { Tenant } from '../tenants/index.js';

/**
 * What a person asks for in their own WhatsApp session, handed to the privacy-request engine inside the
 * ingest transaction: a Flow completion carrying a deletion request, a STOP keyword, a tap on a confirmation
 * button, a marketing stop. The sender is verified by Meta's signature; nothing in a payload body is trusted.
 */
export interface PrivacyIntents {
  /**
   * The completion message Meta sends when a Privacy Center Flow closes after the person erased everything:
   * ingesting it would bring them back, so it is recognised (by the request id flowguard put in it) and dropped.
   */
  isErasureEcho(tx: Kysely<DB>, input: { tenant: Tenant; event: MessageEvent }): Promise<boolean>;
  onMessage(tx: Kysely<DB>, input: { tenant: Tenant; subjectId: string; event: MessageEvent }): Promise<void>;
  onPreference(
    tx: Kysely<DB>,
    input: {
      tenant: Tenant;
      subjectId: string | undefined;
      identities: Identity[];
      value: 'stop' | 'resume';
    },
  ): Promise<void>;
}

/** What the webhook ingest needs from the process context, plus the pass-through and the privacy engine. */
export type IngestDeps = Pick<
  AppContext,
  'database' | 'keyring' | 'subjects' | 'subjectKeys' | 'metrics' | 'logger' | 'clock' | 'queue'
> & {
  forwarder: Pick<Forwarder, 'enqueue'>;
  privacy: PrivacyIntents;
};

/** An open transaction (or any executor): every ingest step runs inside the one transaction of its POST. */
export type Executor = Kysely<DB>;

export type Outcome = 'ingested' | 'duplicate' | 'rejected' | 'ignored';

/** Identities of one or more parties, de-duplicated, phone first. */
export function identitiesOf(...parties: (PartyIds | undefined)[]): Identity[] {
  const out: Identity[] = [];
  const seen = new Set<string>();
  const add = (identity: Identity) => {
    const key = `${identity.kind}\u0000${identity.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(identity);
    }
  };
  for (const p of parties) if (p?.phone) add({ kind: 'phone', value: p.phone });
  for (const p of parties) if (p?.bsuid) add({ kind: 'bsuid', value: p.bsuid });
  return out;
}
