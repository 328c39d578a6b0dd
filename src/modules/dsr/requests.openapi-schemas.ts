/** Component schemas of the /v1/requests routes (see requests.openapi.ts). */

const isoTime = { type: 'string', format: 'date-time' };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };

export const requestSchemas: Record<string, unknown> = {
  RequestInput: {
    type: 'object',
    required: ['type'],
    properties: {
      type: { type: 'string', enum: ['erasure', 'access', 'rectification', 'opt_out', 'restriction'] },
      phone: { type: 'string', description: 'E.164; give phone or user_id' },
      user_id: { type: 'string', pattern: '^[A-Z]{2}\\.[A-Za-z0-9]{1,128}$' },
      scope: {
        type: 'string',
        enum: ['all', 'profile', 'messages', 'flow_responses', 'media', 'delivery_statuses'],
        description: 'erasure only; default all',
      },
      params: {
        type: 'object',
        description: 'rectification only',
        properties: {
          profile_name: { type: 'string' },
          flow_response: {
            type: 'object',
            required: ['id', 'fields'],
            properties: { id: { type: 'string', format: 'uuid' }, fields: { type: 'object' } },
          },
        },
      },
    },
  },
  CreatedRequest: {
    type: 'object',
    required: ['id', 'reference', 'status'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      reference: { type: 'string' },
      status: { type: 'string' },
    },
  },
  Request: {
    type: 'object',
    required: ['id', 'type', 'status', 'due_at', 'systems'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      reference: { type: 'string' },
      type: { type: 'string' },
      scope: { type: 'string' },
      channel: { type: 'string' },
      status: {
        type: 'string',
        enum: ['received', 'awaiting_verification', 'verified', 'executing', 'completed', 'failed', 'denied'],
      },
      regime: { type: 'string', enum: ['gdpr', 'ccpa'] },
      verification: { type: ['string', 'null'] },
      received_at: isoTime,
      verified_at: nullableTime,
      due_at: isoTime,
      overdue: { type: 'boolean' },
      extended: { type: 'boolean' },
      completed_at: nullableTime,
      error_code: { type: ['string', 'null'] },
      systems: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            action: { type: 'string' },
            status: { type: 'string' },
            attempts: { type: 'integer' },
            counts: { type: 'object', additionalProperties: { type: 'integer' } },
            last_error: { type: ['string', 'null'] },
            completed_at: nullableTime,
          },
        },
      },
    },
  },
  RequestList: {
    type: 'object',
    properties: { requests: { type: 'array', items: { type: 'object' } } },
  },
  ExportLink: {
    type: 'object',
    required: ['url', 'expires_at'],
    properties: { url: { type: 'string', format: 'uri' }, expires_at: isoTime },
  },
  ProofReport: {
    type: 'object',
    required: ['request', 'systems', 'audit', 'retained'],
    properties: {
      request: { type: 'object' },
      systems: { type: 'array', items: { type: 'object' } },
      audit: { type: 'object', properties: { events: { type: 'array' }, chain: { type: 'object' } } },
      retained: { type: 'array' },
    },
  },
  ExtendInput: {
    type: 'object',
    required: ['days', 'reason_code'],
    properties: {
      days: { type: 'integer', minimum: 1, maximum: 92 },
      reason_code: { type: 'string', enum: ['complexity', 'number_of_requests', 'awaiting_information'] },
    },
  },
  Extended: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      due_at: isoTime,
      original_due_at: isoTime,
      extension_reason: { type: 'string' },
      notified: { type: 'boolean' },
    },
  },
  DenyInput: {
    type: 'object',
    required: ['reason_code'],
    properties: {
      reason_code: { type: 'string', enum: ['manifestly_unfounded', 'excessive', 'identity_not_verified'] },
    },
  },
  Denied: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      status: { type: 'string', const: 'denied' },
      deny_reason: { type: 'string' },
      notified: { type: 'boolean' },
    },
  },
};
