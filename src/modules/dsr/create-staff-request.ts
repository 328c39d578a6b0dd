import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Tenant } from '../tenants/index.js';
import { createRequest, type CreatedRequest } from './create-request.js';
import type { Actor, DsrDeps } from './dsr.types.js';
import type { StaffRequestInput } from './request-input.js';

/**
 * A request entered by staff (the API or the CLI) for a person named by phone number or BSUID. Nothing vouches
 * that the person asked, so nothing is done until they confirm in WhatsApp (createRequest sends the button);
 * an opt-out needs no verification and is carried out at once. One transaction: the request, its audit event
 * and the queued confirmation exist together or not at all.
 */
export function createStaffRequest(
  db: Kysely<DB>,
  deps: DsrDeps,
  input: { tenant: Tenant; request: StaffRequestInput; channel: 'api' | 'cli' | 'admin'; actor: Actor },
): Promise<CreatedRequest> {
  const { request } = input;
  return db.transaction().execute((tx) =>
    createRequest(tx, deps, {
      tenant: input.tenant,
      type: request.type,
      scope: request.scope,
      channel: input.channel,
      subject: { identity: request.identity },
      verification: null,
      params: request.params,
      actor: input.actor,
    }),
  );
}
