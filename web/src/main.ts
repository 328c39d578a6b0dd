import { api, ApiError, endSession, whenSignedOut, type Me, type Permission } from './api.js';
import { h, setStatus } from './dom.js';
import { accountView } from './views/account.js';
import { auditView } from './views/audit.js';
import { dlqView } from './views/dlq.js';
import { enrolView } from './views/enrol.js';
import { loginView } from './views/login.js';
import { metricsView } from './views/metrics.js';
import { queueView } from './views/queue.js';
import { requestView } from './views/request.js';
import './style.css';
import './dialogs.css';

/**
 * The dashboard: a hash router over the admin API. Screens are offered by the signed-in role's permissions. A
 * session that may only enrol an authenticator (403 MFA_ENROLMENT_REQUIRED) gets the set-up screen and nothing else.
 */

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let me: Me | null = null;

const SCREENS = [
  { path: 'requests', label: 'Requests', perm: 'requests.read' },
  { path: 'dlq', label: 'Dead letters', perm: 'dlq.read' },
  { path: 'audit', label: 'Audit', perm: 'audit.verify' },
  { path: 'metrics', label: 'Metrics', perm: 'metrics.read' },
  { path: 'account', label: 'Account', perm: 'me.read' },
] as const;

const can = (perm: Permission) => me?.permissions.includes(perm) ?? false;

function signedOut(): void {
  me = null;
  nav.replaceChildren();
  who.replaceChildren();
  loginView(main, (enrol) => void (enrol ? enrol_() : start()));
}

/** The set-up of an authenticator: no navigation, no other screen, until it is confirmed or given up. */
async function enrol_(): Promise<void> {
  me = null;
  nav.replaceChildren();
  who.replaceChildren();
  try {
    await enrolView(main, () => void start(), signedOut);
  } catch {
    signedOut();
  }
}

function renderChrome(current: string): void {
  nav.replaceChildren(
    ...SCREENS.filter((sc) => can(sc.perm)).map((sc) =>
      h('a', { href: `#/${sc.path}`, 'aria-current': current === sc.path ? 'page' : undefined }, sc.label),
    ),
  );
  const out = h('button', { type: 'button', class: 'link' }, 'Sign out');
  out.addEventListener('click', () => {
    void endSession('/session').then(() => {
      setStatus('Signed out.');
      location.hash = '';
      signedOut();
    });
  });
  who.replaceChildren(`${me?.role.replaceAll('_', ' ') ?? ''}${me?.tenant ? ` · ${me.tenant}` : ''} `, out);
}

async function route(): Promise<void> {
  if (!me) return;
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(query);
  const [screen = '', id] = path.split('/');
  const first = SCREENS.find((sc) => can(sc.perm));
  const target = SCREENS.find((sc) => sc.path === screen && can(sc.perm)) ?? first;
  if (!target) {
    main.replaceChildren(h('h1', {}, 'Nothing to show'), h('p', {}, 'Your role has no dashboard screens.'));
    renderChrome('');
    return;
  }
  if (target.path !== screen) {
    location.replace(`#/${target.path}`);
    return;
  }
  renderChrome(target.path);
  try {
    if (target.path === 'requests' && id) await requestView(main, id, me);
    else if (target.path === 'requests') await queueView(main, params);
    else if (target.path === 'dlq') await dlqView(main, params);
    else if (target.path === 'audit') await auditView(main, can('audit.read'), params);
    else if (target.path === 'account') accountView(main, me, () => void route());
    else await metricsView(main, params);
    main.focus({ preventScroll: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    const msg = err instanceof ApiError ? `${err.code}: ${err.message}` : 'Network error.';
    main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, msg));
    setStatus(msg, 'error');
  }
}

async function start(): Promise<void> {
  try {
    me = await api<Me>('GET', '/me');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'MFA_ENROLMENT_REQUIRED') await enrol_();
    else signedOut();
    return;
  }
  await route();
}

whenSignedOut(signedOut);
window.addEventListener('hashchange', () => void route());
void start();
