import { api, setCsrf } from '../api.js';
import { codeRefused } from '../code-refused.js';
import { h, setStatus } from '../dom.js';

/**
 * Sign-in: e-mail, password and a TOTP code, or a one-time recovery code instead of the code. An admin without
 * an authenticator yet leaves the code empty and is taken to set one up (`done(true)`).
 */
export function loginView(main: HTMLElement, done: (enrol: boolean) => void): void {
  const email = h('input', {
    id: 'email',
    name: 'email',
    type: 'email',
    autocomplete: 'username',
    required: true,
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const code = h('input', {
    id: 'totp',
    name: 'totp',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
    'aria-describedby': 'totp-hint',
  });
  const useRecovery = h('input', { id: 'use-recovery', type: 'checkbox' });
  const codeLabel = h('label', { for: 'totp' }, 'Authenticator code');
  const TOTP_HINT =
    'The 6-digit code from your authenticator app. Not set up yet? Leave it empty: you will set it up next.';
  const hint = h('small', { id: 'totp-hint' }, TOTP_HINT);
  useRecovery.addEventListener('change', () => {
    const recovery = useRecovery.checked;
    codeLabel.textContent = recovery ? 'Recovery code' : 'Authenticator code';
    hint.textContent = recovery ? 'One of your one-time recovery codes.' : TOTP_HINT;
    code.inputMode = recovery ? 'text' : 'numeric';
    if (recovery) {
      code.removeAttribute('pattern');
      code.removeAttribute('maxlength');
    } else {
      code.setAttribute('pattern', '[0-9]{6}');
      code.setAttribute('maxlength', '6');
    }
  });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card login', 'aria-labelledby': 'login-title', novalidate: false },
    h('h1', { id: 'login-title' }, 'Sign in'),
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'E-mail'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    h('div', { class: 'field' }, codeLabel, code, hint),
    h(
      'div',
      { class: 'check' },
      useRecovery,
      h('label', { for: 'use-recovery' }, 'Use a recovery code instead'),
    ),
    error,
    button,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    button.disabled = true;
    setStatus('Signing in…');
    const typed = code.value.trim();
    const second = !typed ? {} : useRecovery.checked ? { recovery_code: typed } : { totp: typed };
    api<{ csrf_token: string; recovery_codes_left?: number; mfa_enrolment_required?: true }>(
      'POST',
      '/session',
      {
        email: email.value.trim(),
        password: password.value,
        ...second,
      },
    )
      .then((res) => {
        setCsrf(res.csrf_token);
        password.value = '';
        code.value = '';
        setStatus(
          res.recovery_codes_left !== undefined
            ? `Signed in. ${res.recovery_codes_left} recovery codes left.`
            : 'Signed in.',
        );
        done(res.mfa_enrolment_required === true);
      })
      .catch((err: unknown) =>
        codeRefused(
          err,
          { error, code },
          {
            wrong: 'Invalid e-mail, password or code.',
            locked: 'Too many failed attempts. Try again in 15 minutes.',
          },
        ),
      )
      .finally(() => {
        button.disabled = false;
      });
  });
  main.replaceChildren(form);
  email.focus();
}
