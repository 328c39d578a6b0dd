import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import {
  ACTOR_TYPES,
  CODE_PATTERN,
  auditCatalog,
  isAuditEventType,
  type ActorType,
  type AuditEventData,
  type AuditEventType,
} from './catalog.js';
import { SUBJECT_REF_PATTERN } from './subject-ref.js';

/** One audit event as a service writes it; `data` is checked against the catalog at compile time and at run time. */
export type AuditEvent = {
  [T in AuditEventType]: {
    type: T;
    tenantId: string;
    /** Who did it: an API key or admin id (UUID), a code for a system component, nothing for the subject/CLI. */
    actor: { type: ActorType; id?: string | undefined };
    /** The person concerned: their subject id (keyed-hashed here), or a reference from auditSubjectRef(). */
    subject?: { subjectId: string } | { subjectRef: string } | undefined;
    requestId?: string | undefined;
    occurredAt?: Date | undefined;
    data: AuditEventData<T>;
  };
}[AuditEventType];

export interface ValidatedAuditEvent {
  tenant_id: string;
  actor_type: ActorType;
  actor_id: string | null;
  event_type: AuditEventType;
  subject: { subjectId: string } | { subjectRef: string } | undefined;
  request_id: string | null;
  occurred_at: Date;
  data: Record<string, unknown>;
}

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const uuid = z.uuid();

function refuse(eventType: string, field: string, issue: string): never {
  // Details hold the event type, the field path and zod's issue code: never the refused value.
  throw new AppError(
    'AUDIT_EVENT_INVALID',
    { event_type: isAuditEventType(eventType) ? eventType : 'unknown', field, issue },
    `audit event refused: ${field} (${issue})`,
  );
}

function actorId(eventType: string, actor: AuditEvent['actor']): string | null {
  const { type, id } = actor;
  if (!(ACTOR_TYPES as readonly string[]).includes(type)) refuse(eventType, 'actor.type', 'invalid_value');
  if (type === 'api_key' || type === 'admin') {
    if (id === undefined || !uuid.safeParse(id).success) refuse(eventType, 'actor.id', 'invalid_format');
    return id;
  }
  if (type === 'subject') {
    if (id !== undefined) refuse(eventType, 'actor.id', 'unexpected');
    return null;
  }
  if (id === undefined) return null;
  if (typeof id !== 'string' || !CODE_PATTERN.test(id)) refuse(eventType, 'actor.id', 'invalid_format');
  return id;
}

/** Check an event against the catalog; throws AUDIT_EVENT_INVALID (naming the field, not the value) on anything else. */
export function validateAuditEvent(
  event: AuditEvent,
  now: () => Date = () => new Date(),
): ValidatedAuditEvent {
  const type: string = event.type;
  if (!isAuditEventType(type)) refuse(type, 'type', 'unknown_event');
  if (typeof event.tenantId !== 'string' || !TENANT_ID.test(event.tenantId)) {
    refuse(type, 'tenantId', 'invalid_format');
  }
  const actor_id = actorId(type, event.actor);
  const subject = event.subject;
  if (subject !== undefined) {
    if ('subjectId' in subject) {
      if (!uuid.safeParse(subject.subjectId).success) refuse(type, 'subject.subjectId', 'invalid_format');
    } else if (!SUBJECT_REF_PATTERN.test(subject.subjectRef)) {
      refuse(type, 'subject.subjectRef', 'invalid_format');
    }
  }
  if (event.requestId !== undefined && !uuid.safeParse(event.requestId).success) {
    refuse(type, 'requestId', 'invalid_format');
  }
  const occurred_at = event.occurredAt ?? now();
  if (!(occurred_at instanceof Date) || Number.isNaN(occurred_at.getTime()))
    refuse(type, 'occurredAt', 'invalid');
  const parsed = (auditCatalog[type] as z.ZodType<Record<string, unknown>>).safeParse(event.data);
  if (!parsed.success) {
    // Only the top-level field: it is a declared name, while deeper path segments may be refused record keys.
    const issue = parsed.error.issues[0];
    const field = issue?.path[0];
    refuse(type, typeof field === 'string' ? `data.${field}` : 'data', issue?.code ?? 'invalid');
  }
  return {
    tenant_id: event.tenantId,
    actor_type: event.actor.type,
    actor_id,
    event_type: type,
    subject,
    request_id: event.requestId ?? null,
    occurred_at,
    data: parsed.data,
  };
}
