import type { PrivacyRequestType } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { Identity } from '../../lib/phone.js';
import { identityFromInput } from '../flows/identity-input.js';
import { rectificationParams, type RectificationParams } from './apply-rectification.js';
import { REQUEST_TYPES } from './request-shapes.js';

/** A request as staff enter it (API body or CLI flags), checked: the person, what they want, how far. */
export interface StaffRequestInput {
  type: PrivacyRequestType;
  identity: Identity;
  scope: string | undefined;
  params: RectificationParams | undefined;
}

const fail = (field: string, message: string) => new AppError('VALIDATION_FAILED', { field }, message);

/** The rectification field a zod issue is about, by schema names only (record keys are the caller's text). */
function paramsField(path: readonly PropertyKey[]): string {
  const known = ['profile_name', 'flow_response', 'id', 'fields'];
  const names = path.slice(0, 2).filter((p): p is string => typeof p === 'string' && known.includes(p));
  return ['params', ...names].join('.');
}

/**
 * `{type, phone | user_id, scope?, params?}` → a checked request. Errors name the field and never repeat the
 * value (it may be a phone number).
 */
export function parseStaffRequest(body: unknown): StaffRequestInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw fail('body', 'body must be a JSON object: {"type": ..., "phone": ...}');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.type !== 'string' || !(REQUEST_TYPES as readonly string[]).includes(b.type)) {
    throw fail('type', `type must be one of ${REQUEST_TYPES.join(', ')}`);
  }
  const type = b.type as PrivacyRequestType;
  const identity = identityFromInput({ phone: b.phone, user_id: b.user_id });
  if (b.scope !== undefined && b.scope !== null && (typeof b.scope !== 'string' || b.scope.length > 64)) {
    throw fail('scope', 'scope must be a string');
  }
  const scope = typeof b.scope === 'string' ? b.scope : undefined;
  let params: RectificationParams | undefined;
  if (type === 'rectification') {
    if (b.params === undefined || b.params === null) {
      throw fail(
        'params',
        'a rectification needs params: {profile_name} and/or {flow_response: {id, fields}}',
      );
    }
    const parsed = rectificationParams.safeParse(b.params);
    if (!parsed.success) {
      const field = paramsField(parsed.error.issues[0]?.path ?? []);
      throw fail(
        field,
        `${field} is not valid: profile_name is 1-200 characters; flow_response is {id: uuid, fields: {name: value}}`,
      );
    }
    params = parsed.data;
  } else if (b.params !== undefined && b.params !== null) {
    throw fail('params', 'only rectification requests take params');
  }
  return { type, identity, scope, params };
}
