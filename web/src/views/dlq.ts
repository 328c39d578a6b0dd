import { api, ApiError, type DeadLetter } from '../api.js';
import { fmtTime, h, setStatus, table } from '../dom.js';
import { pageOf, pager } from '../pager.js';

function short(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '—';
}

/**
 * The dead-letter queue, oldest first: jobs that exhausted their retries (ids only), each with a retry button;
 * 50 a page, the page (keyset cursor) in the URL.
 */
export async function dlqView(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const q = new URLSearchParams({ limit: '50' });
  const { cursor } = pageOf(params, 'cursor');
  if (cursor) q.set('cursor', cursor);
  const { dead_letters, next_cursor } = await api<{ dead_letters: DeadLetter[]; next_cursor: string | null }>(
    'GET',
    `/dead-letters?${q}`,
  );
  const rows = dead_letters.map((d) => {
    const button = h(
      'button',
      { type: 'button', class: 'retry', 'aria-label': `Retry ${d.queue} job ${d.id}` },
      'Retry',
    );
    button.addEventListener('click', () => {
      button.disabled = true;
      setStatus('Retrying…');
      api<{ id: string; queue: string }>('POST', `/dead-letters/${encodeURIComponent(d.id)}/retry`)
        .then(() => {
          setStatus(`Job ${d.id} sent back to ${d.queue.replace(/\.dead$/, '')}.`);
          return dlqView(main, params);
        })
        .catch((err: unknown) => {
          button.disabled = false;
          setStatus(`Retry failed: ${err instanceof ApiError ? err.code : 'network error'}`, 'error');
        });
    });
    return h(
      'tr',
      { 'data-letter': d.id },
      h('td', {}, d.queue),
      h('td', {}, short(d.data['systemId'])),
      h('td', {}, short(d.data['requestId'])),
      h('td', {}, fmtTime(d.created_at)),
      h('td', {}, button),
    );
  });
  main.replaceChildren(
    h('h1', {}, 'Dead letters'),
    h('p', {}, 'Jobs that failed after their last retry. Fix the cause, then retry.'),
    rows.length
      ? table(`${rows.length} dead letters on this page`, ['Queue', 'System', 'Request id', 'Died', ''], rows)
      : h('p', { id: 'dlq-empty' }, cursor ? 'No more dead letters.' : 'The dead-letter queue is empty.'),
    pager('dlq', params, 'cursor', next_cursor, 'Dead letters'),
  );
}
