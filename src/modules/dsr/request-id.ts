import { AppError } from '../../lib/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A request id from a URL or the command line: anything but a UUID is simply not found (never a 500). */
export function requestIdFrom(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  }
  return value.toLowerCase();
}
