import { AppError } from '../../lib/errors.js';
import { parseIdentity, type Identity } from '../../lib/phone.js';

/**
 * The identity a caller names (API body or CLI flags): exactly one of `phone` (+E.164) or `user_id` (BSUID).
 * Error messages say what is wrong and never repeat the value.
 */
export function identityFromInput(input: { phone?: unknown; user_id?: unknown }): Identity {
  const hasPhone = input.phone !== undefined && input.phone !== null;
  const hasUserId = input.user_id !== undefined && input.user_id !== null;
  if (hasPhone && hasUserId) {
    throw new AppError('VALIDATION_FAILED', { field: 'phone' }, 'give either phone or user_id, not both');
  }
  if (!hasPhone && !hasUserId) {
    throw new AppError('VALIDATION_FAILED', { field: 'phone' }, 'phone or user_id is required');
  }
  if (hasPhone) {
    const identity = typeof input.phone === 'string' ? parseIdentity({ phone: input.phone }) : undefined;
    if (!identity) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'phone' },
        'phone must be a phone number in E.164 form: + followed by the country code and number',
      );
    }
    return identity;
  }
  const identity = typeof input.user_id === 'string' ? parseIdentity({ user_id: input.user_id }) : undefined;
  if (!identity) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'user_id' },
      'user_id must be a business-scoped user id: two-letter country code, a dot, then up to 128 letters or digits',
    );
  }
  return identity;
}
