import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashToken, randomToken } from '../../lib/crypto/index.js';
import type { DB, PrivacyRequestStatus } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { Identity } from '../../lib/phone.js';
import { blindIndex, blindIndexes } from '../subjects/index.js';
import { ERASABLE_SCOPES, type ErasureScope } from './categories.js';
import { dueDate } from './deadlines.js';
import { createDsrRepo, type PrivacyRequestRow } from './dsr.repo.js';
import type { CreateRequestInput, DsrDeps } from './dsr.types.js';
import { executeRequest } from './execute-request.js';
import { enqueueNotification } from './notify.js';
import { adoptLockedHead, auditSubjectRef, auditSubjectRefs } from '../audit/index.js';
import { newRequestReference } from './references.js';
import { asOneOperation } from './one-operation.js';
import { sealIdentities } from './request-identities.js';
import {
  findSubjectWithIdentities,
  loadSubjectIdentities,
  messagingRecipient,
} from './subject-identities.js';

const repo = createDsrRepo();

export interface CreatedRequest {
  id: string;
  reference: string;
  status: PrivacyRequestStatus;
  /** True when an open request for the same person and type already existed and this one joined it. */
  joined: boolean;
}

function validScope(type: CreateRequestInput['type'], scope: string | undefined): string {
  const s = scope ?? 'all';
  if (type === 'erasure' && !(ERASABLE_SCOPES as readonly string[]).includes(s)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'scope' },
      `scope must be one of ${ERASABLE_SCOPES.join(', ')}`,
    );
  }
  if (type !== 'erasure' && s !== 'all') {
    throw new AppError('VALIDATION_FAILED', { field: 'scope' }, 'only erasure requests take a scope');
  }
  return s;
}

/**
 * Record a privacy request inside the caller's transaction, from any channel. A request whose channel proves
 * the person made it (a Flow token bound to them, a signed webhook from their own number) is executed at once;
 * one entered by staff or through the API waits for the person to confirm in WhatsApp. Opt-outs need no
 * verification (CCPA 1798.120; GDPR Art. 21(3) is absolute). A second request of the same type for the same
 * person while one is open joins it instead of running twice.
 */
export function createRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: CreateRequestInput,
): Promise<CreatedRequest> {
  return asOneOperation(tx, deps, () => recordRequest(tx, deps, input));
}

async function recordRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: CreateRequestInput,
): Promise<CreatedRequest> {
  const scope = validScope(input.type, input.scope);
  const tenantId = input.tenant.id;
  const now = deps.clock();

  let subjectId: string | undefined;
  let identities: Identity[] = [];
  if ('externalRef' in input.subject) {
    // Known only by a keyed reference: no subject, no identities; the own-store part has nothing to do.
  } else if ('subjectId' in input.subject) {
    subjectId = input.subject.subjectId;
    identities = await loadSubjectIdentities(tx, deps.subjectKeys, subjectId);
  } else {
    const found = await findSubjectWithIdentities(tx, deps, tenantId, input.subject.identity);
    subjectId = found?.subjectId;
    identities = found ? found.identities : [input.subject.identity];
  }
  const subjectRef =
    'externalRef' in input.subject
      ? input.subject.externalRef
      : subjectId
        ? auditSubjectRef(deps.keyring, { subjectId })
        : auditSubjectRef(deps.keyring, { blindIndex: blindIndex(deps.keyring, tenantId, identities[0]!) });

  const verification = input.type === 'opt_out' ? (input.verification ?? 'not_required') : input.verification;

  // The same person's open request, recorded under any held key version.
  const refs =
    'externalRef' in input.subject
      ? input.subject.externalRefs
      : subjectId
        ? auditSubjectRefs(deps.keyring, { subjectId })
        : auditSubjectRefs(deps.keyring, {
            blindIndexes: blindIndexes(deps.keyring, tenantId, identities[0]!),
          });
  const id = crypto.randomUUID();
  const { dueAt, regime } = dueDate(input.tenant.settings.regimes, input.type, now);
  const cipher = subjectId && input.params ? await deps.subjectKeys.cipher(tx, subjectId) : undefined;
  const row: Omit<PrivacyRequestRow, 'updated_at' | 'result'> = {
    id,
    tenant_id: tenantId,
    reference: newRequestReference(),
    type: input.type,
    scope,
    channel: input.channel,
    // A request its channel verified is stored ready to run (verifyAndExecute below records the verification).
    status: verification ? 'executing' : 'received',
    subject_id: subjectId ?? null,
    subject_ref: subjectRef,
    regime,
    verification: verification ?? null,
    confirmation_hash: null,
    identities: sealIdentities(deps.keyring, id, identities),
    params:
      cipher && input.params
        ? cipher.encrypt(JSON.stringify(input.params), 'privacy_requests', 'params', id)
        : null,
    error_code: null,
    deny_reason: null,
    extension_reason: null,
    received_at: now,
    verified_at: verification ? now : null,
    due_at: dueAt,
    original_due_at: dueAt,
    completed_at: null,
  };
  const count = input.type === 'erasure' ? { count: 'erasure_requests' as const } : {};
  // Most people have no open request of the type: the row goes in at once, with the counter and the audit chain's
  // lock (its head read for the events below). Otherwise the open one decides: join it, or record this one.
  const stored = await repo.insertUnlessOpen(tx, row, { subjectRefs: refs, ...count });
  if (stored.head) adoptLockedHead(tx, stored.head);
  if (!stored.inserted) {
    const open = await repo.findOpen(tx, tenantId, refs, input.type);
    // Join only a request that asks for the same thing, or a verified one that already covers it: a person's
    // narrow request must never verify someone else's broader one (a staff "delete all" awaiting confirmation).
    const sameAsk = open && (input.type !== 'erasure' || open.scope === scope) && !input.params;
    const covered =
      open && input.type === 'erasure' && open.scope === 'all' && open.status !== 'awaiting_verification';
    if (open && (sameAsk || covered)) {
      await deps.audit(tx, {
        tenantId,
        type: 'request.joined',
        actor: input.actor,
        subject: { subjectRef },
        requestId: open.id,
        data: { channel: input.channel },
      });
      if (verification && open.status === 'awaiting_verification') {
        return { ...(await verifyAndExecute(tx, deps, open, verification)), joined: true };
      }
      return { id: open.id, reference: open.reference, status: open.status, joined: true };
    }
    await repo.insert(tx, row, count);
  }
  await deps.audit(tx, {
    tenantId,
    type: 'request.received',
    actor: input.actor,
    subject: { subjectRef },
    requestId: id,
    data: { type: input.type, channel: input.channel, scope: scope as ErasureScope, regime },
  });

  if (verification) {
    return {
      ...(await verifyAndExecute(tx, deps, { ...row, result: {}, updated_at: now }, verification, {
        stored: true,
      })),
      joined: false,
    };
  }
  return {
    ...(await askForConfirmation(tx, deps, { ...row, result: {}, updated_at: now }, identities)),
    joined: false,
  };
}

async function askForConfirmation(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: PrivacyRequestRow,
  identities: Identity[],
): Promise<Omit<CreatedRequest, 'joined'>> {
  const token = randomToken(18);
  await repo.update(tx, request.id, { status: 'awaiting_verification', confirmation_hash: hashToken(token) });
  const recipient = messagingRecipient(identities);
  if (recipient) {
    await enqueueNotification(tx, deps, {
      tenantId: request.tenant_id,
      requestId: request.id,
      recipient,
      kind: 'confirm_request',
      params: { reference: request.reference, request_type: request.type, confirm_id: `fgconfirm:${token}` },
    });
  }
  return { id: request.id, reference: request.reference, status: 'awaiting_verification' };
}

/**
 * Record the verification and carry the request out. `stored`: the request row was inserted already verified
 * in this transaction (a channel that proves who is asking), so only the audit event is left to write.
 */
export async function verifyAndExecute(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: PrivacyRequestRow,
  verification: NonNullable<CreateRequestInput['verification']>,
  opts: { stored?: boolean } = {},
): Promise<Omit<CreatedRequest, 'joined'>> {
  const verifiedAt = opts.stored && request.verified_at ? request.verified_at : deps.clock();
  if (!opts.stored) {
    await repo.update(tx, request.id, {
      status: 'executing',
      verification,
      verified_at: verifiedAt,
      confirmation_hash: null,
    });
  }
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'request.verified',
    actor: { type: 'system' },
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: { method: verification },
  });
  const status = await executeRequest(tx, deps, {
    ...request,
    status: 'executing',
    verification,
    verified_at: verifiedAt,
    confirmation_hash: null,
  });
  return { id: request.id, reference: request.reference, status };
}
