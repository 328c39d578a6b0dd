import { z } from 'zod';
import { AppError } from '../../../lib/errors.js';
import { adminRoute } from '../admin-route.js';
import { confirmEnrolment, showEnrolment } from '../mfa/enrolment.js';
import { regenerateRecoveryCodes } from '../mfa/regenerate-recovery-codes.js';
import { sendSession, sendSignOut, withRetryAfter } from './route-helpers.js';

const totpBody = z.strictObject({ totp: z.string().min(1).max(16) });

/** Enrolling an authenticator (from an enrolment session) and replacing one's own recovery codes. */
export const mfaRoutes = [
  adminRoute({
    method: 'GET',
    path: '/session/enrolment',
    operationId: 'adminGetEnrolment',
    summary: 'The authenticator to enrol: an otpauth:// URI (for a QR code) and its key (to type in)',
    description:
      'Only for an enrolment session (sign-in of an admin without an authenticator). Each enrolment sign-in draws a new secret; it is shown to that session until confirmed, never after.',
    tag: 'session',
    auth: 'enrolment',
    response: z.object({
      otpauth_uri: z.string(),
      secret: z.string(),
      issuer: z.string(),
      account: z.string(),
      algorithm: z.literal('SHA1'),
      digits: z.literal(6),
      period: z.literal(30),
      expires_at: z.string(),
    }),
    audit: [],
    errors: { 409: 'Already enrolled' },
    handler: ({ principal }, deps) => showEnrolment(deps, principal),
  }),
  adminRoute({
    method: 'POST',
    path: '/session/enrolment',
    operationId: 'adminConfirmEnrolment',
    summary:
      'Confirm the authenticator with a current code; returns a full session and 10 recovery codes once',
    description:
      'The enrolment session ends and a new full session begins (new cookie and CSRF token). A wrong code counts towards the sign-in lockout (429 with Retry-After).',
    tag: 'session',
    auth: 'enrolment',
    body: totpBody,
    response: z.object({
      csrf_token: z.string(),
      expires_at: z.string(),
      idle_timeout_seconds: z.number(),
      user: z.object({ id: z.string(), role: z.string(), tenant: z.string().nullable() }),
      recovery_codes: z.array(z.string()),
    }),
    audit: ['admin_user.mfa_enrolled', 'admin.login'],
    errors: { 409: 'Already enrolled', 429: 'Too many failed attempts' },
    handler: async ({ principal, body, req, reply }, deps) => {
      const enrolled = await withRetryAfter(reply, () =>
        confirmEnrolment(deps, principal, { totp: body.totp, sourceIp: req.ip }),
      );
      return {
        ...sendSession(req, reply, deps, enrolled.session),
        user: enrolled.user,
        recovery_codes: enrolled.recoveryCodes,
      };
    },
  }),
  adminRoute({
    method: 'DELETE',
    path: '/session/enrolment',
    operationId: 'adminCancelEnrolment',
    summary: 'Give up the enrolment: end the enrolment session and clear its cookies',
    tag: 'session',
    auth: 'enrolment',
    response: z.object({ signed_out: z.literal(true) }),
    audit: ['admin.logout'],
    handler: ({ principal, req, reply }, deps) => sendSignOut(req, reply, deps, principal),
  }),
  adminRoute({
    method: 'POST',
    path: '/session/recovery-codes',
    operationId: 'adminRegenerateRecoveryCodes',
    summary: 'Replace your recovery codes (a current TOTP code required); the new ones are shown once',
    description:
      'The old codes stop working. A recovery code is not accepted here. A wrong code counts towards the sign-in lockout; a right one also counts as a step-up.',
    tag: 'session',
    auth: 'me.read',
    body: totpBody,
    response: z.object({ recovery_codes: z.array(z.string()) }),
    audit: ['admin.login', 'admin_user.recovery_codes_regenerated'],
    errors: { 400: 'An API key has no recovery codes', 429: 'Too many failed attempts' },
    handler: ({ principal, body, req, reply }, deps) => {
      if (principal.kind !== 'user') {
        throw new AppError('BAD_REQUEST', {}, 'an API key has no recovery codes');
      }
      return withRetryAfter(reply, () =>
        regenerateRecoveryCodes(deps, principal, { totp: body.totp, sourceIp: req.ip }),
      );
    },
  }),
];
