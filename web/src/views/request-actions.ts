import { api, ApiError, type Me, type RequestDetail } from '../api.js';
import { field, openDialog, reasonSelect } from '../dialog.js';
import { fmtTime, h, setStatus } from '../dom.js';

/** The decisions a privacy officer takes on a request, as buttons that open a dialog each. */

const APPROVAL_REASONS = {
  verified_in_person: 'Verified in person',
  verified_by_document: 'Verified by an identity document',
  verified_by_callback: 'Verified by a call-back',
  authorized_agent: 'Authorised agent acting for the person',
};
const DENIAL_REASONS = {
  identity_not_verified: 'Identity could not be verified',
  manifestly_unfounded: 'Manifestly unfounded',
  excessive: 'Excessive',
};
const EXTENSION_REASONS = {
  complexity: 'Complexity of the request',
  number_of_requests: 'Number of requests',
  awaiting_information: 'Awaiting information',
};
const OPEN = ['received', 'awaiting_verification', 'verified', 'executing'];
const DENIABLE = ['received', 'awaiting_verification'];

const message = (err: unknown) =>
  err instanceof ApiError ? err.message : 'Network error: nothing was changed.';

/** A TOTP code field for routes that need the second factor fresh (hidden until it is needed). */
function stepUpField(me: Me): { el: HTMLElement; input: HTMLInputElement; needed: () => boolean } {
  const input = h('input', {
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
  });
  const el = field(
    'Authenticator code',
    input,
    'Approving needs your second factor from the last 15 minutes: the 6-digit code from your app.',
  );
  const stale = !me.mfa_fresh_until || Date.parse(me.mfa_fresh_until) - Date.now() < 60_000;
  const show = (on: boolean) => {
    el.hidden = !on;
    input.required = on;
  };
  show(stale);
  return {
    el,
    input,
    needed: () => {
      if (!el.hidden) return false;
      show(true);
      input.focus();
      return true;
    },
  };
}

function approveDialog(opener: HTMLElement, r: RequestDetail, me: Me, done: (msg: string) => void): void {
  const reason = reasonSelect(APPROVAL_REASONS);
  const code = stepUpField(me);
  openDialog({
    title: `Approve request ${r.reference}`,
    description:
      'You verified the person another way. The request is verified as a staff approval and carried out at once.',
    fields: [field('How you verified the person', reason), code.el],
    submitLabel: 'Approve',
    opener,
    onSubmit: async () => {
      if (!code.el.hidden) {
        const stepped = await api<{ mfa_at: string }>('POST', '/session/mfa', {
          totp: code.input.value.trim(),
        }).catch(() => {
          code.input.value = '';
          code.input.focus();
          throw new Error('That code was not accepted. Enter the current code from your app.');
        });
        me.mfa_fresh_until = new Date(Date.parse(stepped.mfa_at) + 15 * 60_000).toISOString();
      }
      const res = await api<{ status: string }>('POST', `/requests/${r.id}/approve`, {
        reason_code: reason.value,
      }).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'MFA_REQUIRED' && code.needed()) {
          throw new Error('Confirm it is you: enter the code from your authenticator app.');
        }
        throw new Error(message(err));
      });
      done(`Request ${r.reference} approved: ${res.status.replaceAll('_', ' ')}.`);
    },
  });
}

function denyDialog(opener: HTMLElement, r: RequestDetail, done: (msg: string) => void): void {
  const reason = reasonSelect(DENIAL_REASONS);
  openDialog({
    title: `Deny request ${r.reference}`,
    description: 'Nothing is carried out. The person is told the reason on WhatsApp. This cannot be undone.',
    fields: [field('Reason', reason)],
    submitLabel: 'Deny',
    opener,
    onSubmit: async () => {
      const res = await api<{ deny_reason: string; notified: boolean }>('POST', `/requests/${r.id}/deny`, {
        reason_code: reason.value,
      }).catch((err: unknown) => {
        throw new Error(message(err));
      });
      done(`Request ${r.reference} denied (${res.deny_reason.replaceAll('_', ' ')}).`);
    },
  });
}

function extendDialog(opener: HTMLElement, r: RequestDetail, done: (msg: string) => void): void {
  const reason = reasonSelect(EXTENSION_REASONS);
  const days = h('input', { type: 'number', min: 1, max: 92, step: 1, value: 30, required: true });
  openDialog({
    title: `Extend the deadline of ${r.reference}`,
    description: `Due ${fmtTime(r.due_at)}. The law caps the extension; the person is told the reason and the new date.`,
    fields: [
      field('Extra days', days, 'From 1 to 92; capped at the longest extension allowed.'),
      field('Reason', reason),
    ],
    submitLabel: 'Extend',
    opener,
    onSubmit: async () => {
      const res = await api<{ due_at: string }>('POST', `/requests/${r.id}/extend`, {
        days: Number(days.value),
        reason_code: reason.value,
      }).catch((err: unknown) => {
        throw new Error(message(err));
      });
      done(`Request ${r.reference} now due ${fmtTime(res.due_at)}.`);
    },
  });
}

/**
 * Approve (awaiting the person's confirmation only), deny (nothing carried out yet) and extend (open, before its
 * deadline), for a role that may decide; nothing for one that may not. `reload` shows the request again.
 */
export function requestActions(
  r: RequestDetail,
  me: Me,
  reload: (status: string) => Promise<void>,
): HTMLElement | null {
  if (!me.permissions.includes('requests.decide')) return null;
  const done = (msg: string) => {
    reload(msg).catch(() => setStatus(msg));
  };
  const button = (label: string, id: string, open: (opener: HTMLElement) => void) => {
    const b = h('button', { type: 'button', id, 'aria-haspopup': 'dialog' }, label);
    b.addEventListener('click', () => open(b));
    return b;
  };
  const buttons = [
    r.status === 'awaiting_verification' &&
      button('Approve…', 'approve', (o) => approveDialog(o, r, me, done)),
    DENIABLE.includes(r.status) && button('Deny…', 'deny', (o) => denyDialog(o, r, done)),
    OPEN.includes(r.status) &&
      Date.parse(r.due_at) > Date.now() &&
      button('Extend deadline…', 'extend', (o) => extendDialog(o, r, done)),
  ].filter((b): b is HTMLButtonElement => b instanceof HTMLButtonElement);
  if (buttons.length === 0) return null;
  return h('div', { class: 'actions decisions', role: 'group', 'aria-label': 'Decisions' }, ...buttons);
}
