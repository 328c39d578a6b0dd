import { AppError } from '../../lib/errors.js';
import { isUuid } from '../../lib/uuid.js';

/** A request id from a URL or the command line: anything but a UUID is simply not found (never a 500). */
export function requestIdFrom(value: unknown): string {
  if (!isUuid(value)) {
    throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  }
  return value.toLowerCase();
}
