import type { FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * One field of an `application/x-www-form-urlencoded` body, read from the raw bytes the HTTP layer keeps
 * (every content type arrives as bytes in `req.rawBody`). 415 for another content type; 400 when the field is
 * missing, empty or given more than once.
 */
export function readFormField(req: FastifyRequest, name: string): string {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !FORM.test(type)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', {}, 'send an application/x-www-form-urlencoded body');
  }
  const raw = req.rawBody ?? Buffer.alloc(0);
  const values = new URLSearchParams(raw.toString('utf8')).getAll(name);
  if (values.length !== 1 || values[0] === '') {
    throw new AppError(
      'BAD_REQUEST',
      { field: name, reason: values.length > 1 ? 'malformed' : 'missing_field' },
      `give exactly one ${name} form field`,
    );
  }
  return values[0]!;
}
