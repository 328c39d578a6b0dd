import { api, type Me } from '../api.js';
import { codeRefused } from '../code-refused.js';
import { h, setStatus } from '../dom.js';
import { recoveryCodesView } from './enrol.js';

/** The signed-in admin's own account: who, which role, and new recovery codes (a current TOTP code needed). */
export function accountView(main: HTMLElement, me: Me, done: () => void): void {
  const code = h('input', {
    id: 'regen-code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
    required: true,
    'aria-describedby': 'regen-hint',
  });
  const error = h('p', { id: 'regen-error', class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Get new recovery codes');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'codes-heading' },
    h('h2', { id: 'codes-heading' }, 'Recovery codes'),
    h(
      'p',
      {},
      'New codes replace all of your current ones, used or not. Confirm with your authenticator app (a recovery code is not enough).',
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'regen-code' }, 'Authenticator code'),
      code,
      h('small', { id: 'regen-hint' }, 'The 6-digit code from your app.'),
    ),
    error,
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    api<{ recovery_codes: string[] }>('POST', '/session/recovery-codes', { totp: code.value.trim() })
      .then((res) =>
        recoveryCodesView(main, res.recovery_codes, 'Your old recovery codes no longer work.', done),
      )
      .catch((err: unknown) =>
        codeRefused(
          err,
          { error, code },
          { wrong: 'That code was not accepted. Enter the current code from your app.' },
        ),
      )
      .finally(() => {
        submit.disabled = false;
      });
  });
  main.replaceChildren(
    h('h1', {}, 'Your account'),
    h(
      'dl',
      { class: 'facts card' },
      h('dt', {}, 'E-mail'),
      h('dd', {}, me.email ?? '—'),
      h('dt', {}, 'Role'),
      h('dd', {}, me.role.replaceAll('_', ' ')),
      h('dt', {}, 'Tenant'),
      h('dd', {}, me.tenant ?? 'all tenants'),
    ),
    form,
  );
  setStatus('Your account.');
}
