import { ApiError } from './api.js';
import { setStatus } from './dom.js';

/**
 * A form's second-factor code was not accepted: the reason goes to the form's error line and the status bar,
 * and the code field is emptied and focused for the next try. A 429 is the lockout after too many failures.
 */
export function codeRefused(
  err: unknown,
  form: { error: HTMLElement; code: HTMLInputElement },
  messages: { wrong: string; locked?: string },
): void {
  const msg =
    err instanceof ApiError && err.status === 429
      ? (messages.locked ?? 'Too many wrong codes. Try again in 15 minutes.')
      : messages.wrong;
  form.error.textContent = msg;
  setStatus(msg, 'error');
  form.code.value = '';
  form.code.focus();
}
