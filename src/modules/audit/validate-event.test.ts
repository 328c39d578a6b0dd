import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { AUDIT_EVENT_TYPES, type AuditEventData, type AuditEventType } from './catalog.js';
import { validateAuditEvent, type AuditEvent } from './validate-event.js';

const uuid = () => crypto.randomUUID();
const PHONE = '+15550100123';

/** A realistic example of every event (a new catalog entry without one fails to compile). */
const examples: { [T in AuditEventType]: AuditEventData<T> } = {
  'webhook.ingested': { inbound: 2, statuses: 5, duplicates: 1 },
  'subject.created': { channel: 'webhook', identities: 2 },
  'flow_token.issued': { purpose: 'privacy_center', ttl_ms: 900_000 },
  'api_key.created': { api_key_id: uuid(), role: 'service' },
  'tenant.created': { regimes: ['gdpr', 'ccpa'], conversation_archive: false },
  'optout.recorded': { source: 'stop_keyword', identities: 1 },
  'request.received': { type: 'erasure', channel: 'flow', scope: 'all', regime: 'gdpr' },
  'request.joined': { channel: 'api' },
  'request.verified': { method: 'flow_token' },
  'request.refused': { reason: 'sender_mismatch' },
  'request.completed': { type: 'erasure', systems: 3, duration_ms: 1_840 },
  'request.failed': { reason: 'dead_lettered', failed_systems: 1 },
  'request.extended': { regime: 'gdpr', extra_days: 60, notified: true, reason: 'complexity' },
  'request.denied': { reason: 'excessive', notified: true },
  'erasure.own_store': {
    scope: 'all',
    counts: { identities: 2, messages: 14, data_key: 1 },
    duration_ms: 12,
  },
  'erasure.system': { system_id: 'crm', action: 'deleted', rows: 3 },
  'export.generated': { format: 'zip', systems: 4, bytes: 10_240 },
  'rectification.applied': { fields: ['profile_name'], systems: 2 },
  'admin.access': { resource: 'request', action: 'view' },
  'request.approved': { reason: 'verified_by_document' },
  'admin.login': { outcome: 'succeeded', method: 'totp', recovery_codes_left: 10 },
  'admin.logout': {},
  'admin_user.created': { admin_id: uuid(), role: 'privacy_officer', global: false },
  'admin_user.disabled': { admin_id: uuid(), sessions_ended: 2 },
  'admin_user.mfa_enrolled': { admin_id: uuid(), recovery_codes: 10 },
  'admin_user.mfa_reset': { admin_id: uuid(), sessions_ended: 1, recovery_codes_removed: 7 },
  'admin_user.recovery_codes_regenerated': { admin_id: uuid(), recovery_codes: 10 },
  'api_key.revoked': { api_key_id: uuid() },
  'keys.hmac_version_started': { purpose: 'blind-index', version: 'b2', active_in_ms: 120_000 },
  'keys.hmac_reindexed': { purpose: 'blind-index', version: 'b2', rows: 1_000, complete: true },
  'keys.hmac_version_retired': { purpose: 'audit-subject', version: 'a1', forgotten: 0 },
  'retention.swept': {
    counts: { flow_responses: 1_000, inactive_contacts: 2 },
    system_rows: 40,
    complete: true,
    duration_ms: 830,
  },
  'audit.archived': { through_seq: 1_200, rows: 1_000 },
  'erasure.replayed': { subjects: 3, requests_closed: 1, notifications_dropped: 0 },
  'tenant.offboarding_started': { counts: { subjects: 120, messages: 900 } },
  'tenant.deleted': {
    counts: { subjects: 120, messages: 900, data_keys: 120 },
    requests: 120,
    systems: 3,
    duration_ms: 4_100,
  },
};

function event(type: string, data: unknown, extra: Partial<Record<string, unknown>> = {}): AuditEvent {
  return { type, tenantId: 'default', actor: { type: 'system' }, data, ...extra } as AuditEvent;
}

function refusal(e: AuditEvent): { field: unknown; message: string; details: string } {
  try {
    validateAuditEvent(e);
  } catch (err) {
    if (!isAppError(err, 'AUDIT_EVENT_INVALID')) throw err;
    return { field: err.details.field, message: err.message, details: JSON.stringify(err.details) };
  }
  throw new Error('expected the event to be refused');
}

describe('validateAuditEvent', () => {
  it.each(AUDIT_EVENT_TYPES)('accepts a realistic %s event', (type) => {
    const v = validateAuditEvent(event(type, examples[type]));
    expect(v.event_type).toBe(type);
    expect(v.data).toEqual(examples[type]);
  });

  it('refuses a phone number, free text or a name where an id, enum or code belongs, without echoing it', () => {
    const cases: [AuditEvent, string][] = [
      [event('api_key.created', { api_key_id: PHONE, role: 'service' }), 'data.api_key_id'],
      [event('request.refused', { reason: 'customer Jane Doe said hello' }), 'data.reason'],
      [event('erasure.system', { system_id: '15550100123', action: 'deleted', rows: 1 }), 'data.system_id'],
      [
        event('erasure.system', { system_id: 'crm15550100123', action: 'deleted', rows: 1 }),
        'data.system_id',
      ],
      [event('flow_token.issued', { purpose: 'Jane Doe', ttl_ms: 1 }), 'data.purpose'],
      [event('erasure.own_store', { scope: 'all', counts: { [PHONE]: 1 } }), 'data.counts'],
      [event('rectification.applied', { fields: [PHONE], systems: 1 }), 'data.fields'],
      [event('request.verified', { method: 'flow_token', phone: PHONE }), 'data'],
      [event('request.completed', { systems: -1, duration_ms: 5 }), 'data.systems'],
      [event('request.completed', { systems: 1.5, duration_ms: 5 }), 'data.systems'],
      [event('request.completed', { systems: 15550100123.5, duration_ms: 5 }), 'data.systems'],
      [event('request.completed', { systems: '1', duration_ms: 5 }), 'data.systems'],
    ];
    for (const [e, field] of cases) {
      const r = refusal(e);
      expect(r.field, JSON.stringify(e.data)).toBe(field);
      for (const text of [r.message, r.details]) {
        expect(text).not.toContain('15550100123');
        expect(text).not.toContain('Jane');
      }
    }
  });

  it('refuses an unknown event, a bad tenant, actor, subject or request id', () => {
    expect(refusal(event('subject.phoned', {})).field).toBe('type');
    expect(refusal(event('request.refused', { reason: 'duplicate' }, { tenantId: 'Jane Doe' })).field).toBe(
      'tenantId',
    );
    const ok = { reason: 'duplicate' };
    expect(refusal(event('request.refused', ok, { actor: { type: 'api_key', id: PHONE } })).field).toBe(
      'actor.id',
    );
    expect(refusal(event('request.refused', ok, { actor: { type: 'admin' } })).field).toBe('actor.id');
    expect(refusal(event('request.refused', ok, { actor: { type: 'subject', id: uuid() } })).field).toBe(
      'actor.id',
    );
    expect(refusal(event('request.refused', ok, { actor: { type: 'cli', id: PHONE } })).field).toBe(
      'actor.id',
    );
    expect(refusal(event('request.refused', ok, { actor: { type: 'person' } })).field).toBe('actor.type');
    expect(refusal(event('request.refused', ok, { subject: { subjectId: PHONE } })).field).toBe(
      'subject.subjectId',
    );
    // A plain, unkeyed hash is not refused by shape alone, but a phone number or a short digest is.
    expect(refusal(event('request.refused', ok, { subject: { subjectRef: PHONE } })).field).toBe(
      'subject.subjectRef',
    );
    expect(refusal(event('request.refused', ok, { requestId: 'FG-ABCD-EFGH' })).field).toBe('requestId');
  });

  it('fills actor ids and defaults as stored', () => {
    const key = uuid();
    const at = new Date('2026-03-01T10:00:00.123Z');
    const v = validateAuditEvent(
      event(
        'request.refused',
        { reason: 'duplicate' },
        { actor: { type: 'api_key', id: key }, occurredAt: at },
      ),
    );
    expect(v).toMatchObject({ actor_type: 'api_key', actor_id: key, request_id: null, occurred_at: at });
    expect(validateAuditEvent(event('request.refused', { reason: 'duplicate' })).actor_id).toBeNull();
    const sys = validateAuditEvent(
      event('request.refused', { reason: 'duplicate' }, { actor: { type: 'system', id: 'retention' } }),
    );
    expect(sys.actor_id).toBe('retention');
  });
});
