import { api } from '../api.js';
import { fmtTime, h, setStatus, table } from '../dom.js';
import { pageOf, pager } from '../pager.js';

const PAGE_SIZE = 50;

interface AuditEvent {
  seq: number;
  occurred_at: string;
  actor_type: string;
  event_type: string;
  request_id: string | null;
}

/** The audit log: verify the hash chain, and the events newest first (types and ids only), a page at a time. */
export async function auditView(main: HTMLElement, canRead: boolean, params: URLSearchParams): Promise<void> {
  const result = h('p', { id: 'verify-result', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'verify' }, 'Verify the chain');
  button.addEventListener('click', () => {
    button.disabled = true;
    result.textContent = 'Verifying…';
    result.className = '';
    api<{ ok: boolean; rows?: number; first_bad_seq?: number; reason?: string }>('GET', '/audit/verify')
      .then((r) => {
        result.textContent = r.ok
          ? `Chain intact: ${r.rows ?? 0} events verified.`
          : `Chain BROKEN at seq ${r.first_bad_seq ?? '?'} (${r.reason ?? 'unknown'}).`;
        result.className = r.ok ? 'ok' : 'error';
        setStatus(result.textContent);
      })
      .catch(() => {
        result.textContent = 'Verification failed to run.';
        result.className = 'error';
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  const list = h('div', {});
  main.replaceChildren(h('h1', {}, 'Audit log'), h('div', { class: 'card' }, button, result), list);
  if (!canRead) return;
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const { cursor } = pageOf(params, 'before');
  if (cursor && /^\d+$/.test(cursor)) q.set('before', cursor);
  const { events, next_before } = await api<{ events: AuditEvent[]; next_before: number | null }>(
    'GET',
    `/audit?${q}`,
  );
  const first = events[0]?.seq;
  const last = events.at(-1)?.seq;
  list.replaceChildren(
    table(
      first === undefined ? 'No events' : `Events ${first} to ${last ?? first}, newest first`,
      ['Seq', 'Time', 'Event', 'Actor', 'Request'],
      events.map((e) =>
        h(
          'tr',
          { 'data-seq': e.seq },
          h('td', {}, String(e.seq)),
          h('td', {}, fmtTime(e.occurred_at)),
          h('td', {}, e.event_type),
          h('td', {}, e.actor_type),
          h(
            'td',
            {},
            e.request_id ? h('a', { href: `#/requests/${e.request_id}` }, e.request_id.slice(0, 8)) : '—',
          ),
        ),
      ),
    ),
    pager('audit', params, 'before', next_before, 'Audit log'),
  );
}
