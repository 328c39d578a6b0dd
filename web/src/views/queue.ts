import { api, REQUEST_STATUSES, REQUEST_TYPES, type RequestSummary } from '../api.js';
import { deadlineClass, fmtTime, h, setStatus, table } from '../dom.js';
import { pageOf, pager } from '../pager.js';

/** The filters' choices: '' is any. */
const STATUSES = ['', ...REQUEST_STATUSES];
const TYPES = ['', ...REQUEST_TYPES];
const PAGE_SIZES = ['10', '25', '50', '100'];
const DEFAULT_PAGE_SIZE = '25';

function select(
  id: string,
  label: string,
  options: string[],
  value: string,
): [HTMLLabelElement, HTMLSelectElement] {
  const el = h(
    'select',
    { id, name: id },
    ...options.map((o) => h('option', { value: o, selected: o === value }, o || 'any')),
  );
  return [h('label', { for: id }, label), el];
}

/**
 * The request queue, most urgent first: overdue rows red, due within 3 days amber. Filters, page size and the
 * page (keyset cursor) live in the URL; a new filter starts at the first page.
 */
export async function queueView(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const [statusLabel, status] = select('f-status', 'Status', STATUSES, params.get('status') ?? '');
  const [typeLabel, type] = select('f-type', 'Type', TYPES, params.get('type') ?? '');
  const wanted = Number(params.get('limit'));
  const limit = Number.isInteger(wanted) && wanted >= 1 && wanted <= 200 ? String(wanted) : DEFAULT_PAGE_SIZE;
  const sizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit];
  const [sizeLabel, size] = select('f-limit', 'Per page', sizes, limit);
  const overdue = h('input', {
    id: 'f-overdue',
    type: 'checkbox',
    checked: params.get('overdue') === 'true',
  });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter requests' },
    h('div', { class: 'field' }, statusLabel, status),
    h('div', { class: 'field' }, typeLabel, type),
    h('div', { class: 'check' }, overdue, h('label', { for: 'f-overdue' }, 'Overdue only')),
    h('div', { class: 'field' }, sizeLabel, size),
    h('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (status.value) q.set('status', status.value);
    if (type.value) q.set('type', type.value);
    if (overdue.checked) q.set('overdue', 'true');
    if (size.value !== DEFAULT_PAGE_SIZE) q.set('limit', size.value);
    location.hash = `#/requests${q.size ? `?${q}` : ''}`;
  });
  const list = h('div', { id: 'queue' }, h('p', {}, 'Loading…'));
  main.replaceChildren(h('h1', {}, 'Requests'), form, list);

  const q = new URLSearchParams({ limit });
  for (const key of ['status', 'type', 'overdue']) {
    const v = params.get(key);
    if (v) q.set(key, v);
  }
  const { cursor } = pageOf(params, 'cursor');
  if (cursor) q.set('cursor', cursor);
  const { requests, next_cursor } = await api<{ requests: RequestSummary[]; next_cursor: string | null }>(
    'GET',
    `/requests?${q}`,
  );
  const now = Date.now();
  const rows = requests.map((r) => {
    const cls = deadlineClass(r, now);
    const flag = cls === 'overdue' ? 'Overdue' : cls === 'due-soon' ? 'Due soon' : '';
    return h(
      'tr',
      { class: cls, 'data-request': r.id, 'data-deadline': cls || 'ok' },
      h('td', {}, h('a', { href: `#/requests/${r.id}` }, r.reference)),
      h('td', {}, r.type),
      h('td', {}, h('span', { class: `badge st-${r.status}` }, r.status.replaceAll('_', ' '))),
      h(
        'td',
        {},
        fmtTime(r.due_at),
        flag ? h('span', { class: `flag ${cls}` }, ` ${flag}`) : null,
        r.extended ? ' (extended)' : '',
      ),
      h('td', {}, r.tenant),
    );
  });
  const nav = pager('requests', params, 'cursor', next_cursor, 'Request queue');
  list.replaceChildren(
    rows.length
      ? table(`${rows.length} requests on this page`, ['Reference', 'Type', 'Status', 'Due', 'Tenant'], rows)
      : h('p', {}, 'No requests match.'),
    nav,
  );
  setStatus(`${rows.length} requests loaded (${nav.querySelector('[data-page]')?.textContent ?? ''}).`);
}
