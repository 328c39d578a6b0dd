/**
 * Errors carry a code; one table maps codes to HTTP statuses. Details hold ids and enums only, never personal
 * data, because they may be logged and returned to callers.
 */
export const errorStatus = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHENTICATED: 401,
  BAD_SIGNATURE: 401,
  /** An admin route that needs the second factor shown recently (step-up): POST /admin/api/session/mfa first. */
  MFA_REQUIRED: 401,
  FORBIDDEN: 403,
  /** An admin session that may only enrol its authenticator (GET/POST /admin/api/session/enrolment). */
  MFA_ENROLMENT_REQUIRED: 403,
  NOT_FOUND: 404,
  TENANT_NOT_FOUND: 404,
  SUBJECT_NOT_FOUND: 404,
  CONFLICT: 409,
  /** A link or resource that existed and has expired (export links). */
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  FLOW_DECRYPT_FAILED: 421,
  FLOW_TOKEN_INVALID: 427,
  FLOW_BAD_SIGNATURE: 432,
  STORE_LOCKED: 503,
  NOT_READY: 503,
  INTERNAL: 500,
  /** A service tried to write an audit event its catalog schema refuses: a bug, never the caller's fault. */
  AUDIT_EVENT_INVALID: 500,
} as const;

export type AppErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    readonly details: Record<string, string | number | boolean | undefined> = {},
    message?: string,
  ) {
    super(message ?? code.toLowerCase().replace(/_/g, ' '));
    this.name = 'AppError';
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function isAppError(err: unknown, code?: AppErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
