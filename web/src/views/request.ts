import { api, type Me, type RequestDetail } from '../api.js';
import { deadlineClass, fmtTime, h, setStatus, table } from '../dom.js';
import { requestActions } from './request-actions.js';

/** Ids, enums, times and counts only: event data is shown as its keys' scalar values (the API holds no PII). */
function eventData(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/**
 * One request: its deadline, the decisions the role may take (approve, deny, extend), the per-system tasks
 * (attempts, last error) and its audit timeline. After a decision the view is shown again, focus on its heading.
 */
export async function requestView(main: HTMLElement, id: string, me: Me, after?: string): Promise<void> {
  if (!after) main.replaceChildren(h('p', {}, 'Loading…'));
  const r = await api<RequestDetail>('GET', `/requests/${encodeURIComponent(id)}`);
  const cls = deadlineClass(r);
  const facts: [string, string][] = [
    ['Status', r.status.replaceAll('_', ' ')],
    ['Type', `${r.type} (${r.scope})`],
    ['Channel', r.channel],
    ['Regime', r.regime],
    ['Verification', r.verification ?? '—'],
    ['Received', fmtTime(r.received_at)],
    ['Verified', fmtTime(r.verified_at)],
    ['Due', fmtTime(r.due_at) + (r.extended ? ' (extended)' : '')],
    ['Completed', fmtTime(r.completed_at)],
    ['Error', r.error_code ?? '—'],
    ['Tenant', r.tenant],
  ];
  const systems = r.systems.map((t) =>
    h(
      'tr',
      { class: t.status === 'dead' || t.status === 'failed' ? 'overdue' : '', 'data-system': t.id },
      h('th', { scope: 'row' }, t.id),
      h('td', {}, t.action),
      h('td', {}, h('span', { class: `badge st-${t.status}` }, t.status)),
      h('td', {}, String(t.attempts)),
      h('td', {}, t.last_error ?? '—'),
      h(
        'td',
        {},
        Object.entries(t.counts)
          .map(([k, n]) => `${k}: ${n}`)
          .join(', ') || '—',
      ),
      h('td', {}, fmtTime(t.completed_at)),
    ),
  );
  const timeline = h(
    'ol',
    { class: 'timeline', 'aria-label': 'Timeline' },
    ...r.events.map((e) =>
      h(
        'li',
        {},
        h('time', { datetime: e.occurred_at }, fmtTime(e.occurred_at)),
        ' ',
        h('strong', {}, e.event_type),
        ` by ${e.actor_type} `,
        h('code', {}, eventData(e.data)),
      ),
    ),
  );
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/requests' }, '← All requests')),
    h(
      'h1',
      { id: 'request-title', 'data-status': r.status, tabindex: -1 },
      `Request ${r.reference} `,
      h('span', { class: `badge st-${r.status}`, id: 'request-status' }, r.status.replaceAll('_', ' ')),
    ),
    ...(cls ? [h('p', { class: `flag ${cls}` }, cls === 'overdue' ? 'Overdue' : 'Due within 3 days')] : []),
    ...[requestActions(r, me, (msg) => requestView(main, id, me, msg))].filter((a) => a !== null),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h2', {}, 'Systems'),
    systems.length
      ? table(
          'Per-system tasks',
          ['System', 'Action', 'Status', 'Attempts', 'Last error', 'Counts', 'Done'],
          systems,
        )
      : h('p', {}, 'No system tasks.'),
    h('h2', {}, 'Timeline'),
    timeline,
  );
  if (after) {
    setStatus(after);
    document.getElementById('request-title')?.focus();
  } else {
    setStatus(`Request ${r.reference}: ${r.status.replaceAll('_', ' ')}.`);
  }
}
