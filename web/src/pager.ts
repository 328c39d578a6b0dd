import { h } from './dom.js';

/**
 * Keyset paging kept in the URL hash, so a reload or a shared link shows the same page: `key` (the API's cursor
 * parameter) is where this page starts, `trail` the starts of the pages before it (the first page has none).
 * Previous drops the last start of the trail; Next pushes this page's start and moves to the API's next cursor.
 */
export function pageOf(params: URLSearchParams, key: string): { cursor: string | null; trail: string[] } {
  const trail = (params.get('trail') ?? '').split(',').filter(Boolean);
  return { cursor: params.get(key), trail };
}

export function pager(
  screen: string,
  params: URLSearchParams,
  key: string,
  next: string | number | null,
  label: string,
): HTMLElement {
  const { cursor, trail } = pageOf(params, key);
  const link = (start: string | null, rest: string[]) => {
    const q = new URLSearchParams(params);
    q.delete(key);
    q.delete('trail');
    if (start) q.set(key, start);
    if (rest.length) q.set('trail', rest.join(','));
    return `#/${screen}${q.size ? `?${q}` : ''}`;
  };
  const page = cursor ? trail.length + 2 : 1;
  const prev = cursor
    ? h('a', { href: link(trail.at(-1) ?? null, trail.slice(0, -1)), rel: 'prev' }, '← Previous page')
    : null;
  const more =
    next !== null
      ? h('a', { href: link(String(next), cursor ? [...trail, cursor] : trail), rel: 'next' }, 'Next page →')
      : null;
  return h(
    'nav',
    { class: 'pager', 'aria-label': `${label} pages` },
    prev,
    h('span', { 'aria-current': 'page', 'data-page': page }, `Page ${page}`),
    more,
  );
}
