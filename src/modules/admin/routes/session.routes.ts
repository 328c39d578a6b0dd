import { z } from 'zod';
import { AppError } from '../../../lib/errors.js';
import { adminRoute } from '../admin-route.js';
import { whoAmI } from '../me.js';
import { PERMISSIONS } from '../permissions.js';
import { signIn } from '../sign-in.js';
import { stepUp } from '../step-up.js';
import { sendSession, sendSignOut, withRetryAfter } from './route-helpers.js';

const secondFactor = {
  totp: z.string().max(16).optional(),
  recovery_code: z.string().max(64).optional(),
};

/** Sign-in, step-up, sign-out and `me`. */
export const sessionRoutes = [
  adminRoute({
    method: 'POST',
    path: '/session',
    operationId: 'adminSignIn',
    summary: 'Sign in with e-mail, password and a TOTP code (or a one-time recovery code)',
    description:
      'Sets the HttpOnly session cookie and returns the CSRF token to send as `X-CSRF-Token` on every state-changing request. Any failure is the same 401; 5 failures for an e-mail or 20 from one address lock it for 15 minutes (429 with Retry-After). An admin without an authenticator (created to enrol at sign-in, or after an MFA reset) signs in with the password alone and gets `mfa_enrolment_required: true` and an enrolment session (15 minutes) that may only use `/session/enrolment`.',
    tag: 'session',
    auth: 'public',
    body: z.object({
      email: z.string().min(1).max(254),
      password: z.string().min(1).max(2048),
      ...secondFactor,
    }),
    response: z.object({
      csrf_token: z.string(),
      expires_at: z.string(),
      idle_timeout_seconds: z.number(),
      user: z.object({ id: z.string(), role: z.string(), tenant: z.string().nullable() }),
      recovery_codes_left: z.number().optional(),
      /** The session may only enrol an authenticator (GET, then POST /admin/api/session/enrolment). */
      mfa_enrolment_required: z.literal(true).optional(),
    }),
    audit: ['admin.login'],
    errors: { 429: 'Too many failed attempts for this e-mail or from this address' },
    handler: async ({ body, req, reply }, deps) => {
      const signedIn = await withRetryAfter(reply, () =>
        signIn(deps, {
          email: body.email,
          password: body.password,
          totp: body.totp,
          recoveryCode: body.totp === undefined ? body.recovery_code : undefined,
          sourceIp: req.ip,
        }),
      );
      return {
        ...sendSession(req, reply, deps, signedIn.session),
        user: signedIn.user,
        ...(signedIn.recoveryCodesLeft !== undefined
          ? { recovery_codes_left: signedIn.recoveryCodesLeft }
          : {}),
        ...(signedIn.enrolment ? { mfa_enrolment_required: true as const } : {}),
      };
    },
  }),
  adminRoute({
    method: 'POST',
    path: '/session/mfa',
    operationId: 'adminStepUp',
    summary: 'Show the second factor again (step-up) for routes that need it fresh',
    tag: 'session',
    auth: 'me.read',
    body: z.object(secondFactor),
    response: z.object({ mfa_at: z.string(), recovery_codes_left: z.number().optional() }),
    audit: ['admin.login'],
    errors: { 400: 'An API key has no session', 429: 'Too many failed attempts' },
    handler: async ({ principal, body, req, reply }, deps) => {
      if (principal.kind !== 'user') throw new AppError('BAD_REQUEST', {}, 'an API key has no session');
      return withRetryAfter(reply, () =>
        stepUp(deps, principal, {
          totp: body.totp,
          recoveryCode: body.totp === undefined ? body.recovery_code : undefined,
          sourceIp: req.ip,
        }),
      );
    },
  }),
  adminRoute({
    method: 'DELETE',
    path: '/session',
    operationId: 'adminSignOut',
    summary: 'Sign out: end the session and clear its cookies',
    tag: 'session',
    auth: 'me.read',
    response: z.object({ signed_out: z.literal(true) }),
    audit: ['admin.logout'],
    errors: { 400: 'An API key has no session' },
    handler: ({ principal, req, reply }, deps) => {
      if (principal.kind !== 'user') throw new AppError('BAD_REQUEST', {}, 'an API key has no session');
      return sendSignOut(req, reply, deps, principal);
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/me',
    operationId: 'adminMe',
    summary: 'Who is signed in, the role, tenant and permissions',
    tag: 'session',
    auth: 'me.read',
    response: z.object({
      kind: z.enum(['user', 'api_key']),
      id: z.string(),
      email: z.string().nullable(),
      role: z.string(),
      tenant: z.string().nullable(),
      permissions: z.array(z.enum(PERMISSIONS)),
      mfa_fresh_until: z.string().nullable(),
    }),
    audit: [],
    handler: ({ principal }, deps) => whoAmI(deps, principal),
  }),
];
