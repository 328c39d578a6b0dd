import { api, ApiError, endSession, setCsrf, type Enrolment } from '../api.js';
import { codeRefused } from '../code-refused.js';
import { h, setStatus } from '../dom.js';
import { qrSvg } from '../qr.js';

/**
 * Setting up the authenticator, for an admin signed in with the password only (an enrolment session, which can
 * do nothing else): scan the QR code or type the key in, confirm with the first code, then keep the recovery
 * codes, shown once.
 */
export async function enrolView(main: HTMLElement, done: () => void, cancelled: () => void): Promise<void> {
  const e = await api<Enrolment>('GET', '/session/enrolment');
  const code = h('input', {
    id: 'enrol-code',
    name: 'totp',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
    required: true,
    'aria-describedby': 'enrol-code-hint',
  });
  const error = h('p', { id: 'enrol-error', class: 'error', role: 'alert' });
  const confirm = h('button', { type: 'submit' }, 'Confirm');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const key = e.secret.match(/.{1,4}/g)?.join(' ') ?? e.secret;
  const form = h(
    'form',
    { class: 'card enrol', 'aria-labelledby': 'enrol-title' },
    h('h1', { id: 'enrol-title', tabindex: -1 }, 'Set up your authenticator'),
    h(
      'p',
      {},
      'Your account needs a second factor before you can use the dashboard. Scan this code with an authenticator app (a TOTP app on your phone), then enter the 6-digit code it shows.',
    ),
    h(
      'figure',
      { class: 'qr-card', id: 'enrol-qr', 'data-otpauth': e.otpauth_uri },
      qrSvg(e.otpauth_uri, `QR code for ${e.issuer}: ${e.account}`),
      h('figcaption', {}, `${e.issuer}: ${e.account}`),
    ),
    h(
      'details',
      { class: 'manual' },
      h('summary', {}, 'Cannot scan? Enter the key by hand'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Account'),
        h('dd', {}, e.account),
        h('dt', {}, 'Key'),
        h('dd', {}, h('code', { id: 'enrol-secret' }, key)),
        h('dt', {}, 'Type'),
        h('dd', {}, `Time-based, ${e.digits} digits, every ${e.period} seconds`),
        h('dt', {}, 'Setup link'),
        h('dd', {}, h('code', { id: 'enrol-uri' }, e.otpauth_uri)),
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'enrol-code' }, 'Code from your app'),
      code,
      h('small', { id: 'enrol-code-hint' }, 'The 6-digit code, to show the app is set up.'),
    ),
    error,
    h('div', { class: 'actions' }, cancel, confirm),
  );
  cancel.addEventListener('click', () => {
    void endSession('/session/enrolment').then(() => {
      setStatus('Set-up cancelled. Sign in again to start over.');
      cancelled();
    });
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    confirm.disabled = true;
    api<{ csrf_token: string; recovery_codes: string[] }>('POST', '/session/enrolment', {
      totp: code.value.trim(),
    })
      .then((res) => {
        setCsrf(res.csrf_token);
        recoveryCodesView(main, res.recovery_codes, 'Your authenticator is set up.', done);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401 && err.reason !== 'code') {
          setCsrf(null);
          setStatus('The set-up expired (15 minutes). Sign in again for a new code.', 'error');
          cancelled();
          return;
        }
        codeRefused(
          err,
          { error, code },
          { wrong: 'That code was not accepted. Check the time on your phone and enter the current code.' },
        );
      })
      .finally(() => {
        confirm.disabled = false;
      });
  });
  main.replaceChildren(form);
  setStatus('Set up your authenticator to continue.');
  form.querySelector<HTMLElement>('h1')?.focus();
}

/** Recovery codes, shown once: the user confirms having kept them before going on. */
export function recoveryCodesView(main: HTMLElement, codes: string[], intro: string, done: () => void): void {
  const saved = h('input', { id: 'codes-saved', type: 'checkbox' });
  const go = h('button', { type: 'button', disabled: true }, 'Continue');
  saved.addEventListener('change', () => {
    go.disabled = !saved.checked;
  });
  go.addEventListener('click', done);
  main.replaceChildren(
    h(
      'section',
      { class: 'card enrol', 'aria-labelledby': 'codes-title' },
      h('h1', { id: 'codes-title', tabindex: -1 }, 'Save your recovery codes'),
      h(
        'p',
        {},
        `${intro} If you lose your phone, each of these codes signs you in once instead of the app. They are shown only now: print them or keep them in a password manager.`,
      ),
      h('ol', { id: 'recovery-codes', class: 'codes' }, ...codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('div', { class: 'check' }, saved, h('label', { for: 'codes-saved' }, 'I have saved these codes')),
      go,
    ),
  );
  setStatus('Save your recovery codes: they are shown once.');
  main.querySelector<HTMLElement>('#codes-title')?.focus();
}
