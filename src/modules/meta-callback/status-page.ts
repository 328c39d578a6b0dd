import type { DeletionStatus } from './deletion-status.js';

/** Small self-contained HTML pages (no scripts, no external assets) for the person who follows Meta's link. */

const STATE_TEXT: Record<DeletionStatus['state'], string> = {
  in_progress: 'We have received your request and are deleting your data.',
  completed: 'Your data has been deleted.',
  failed: 'We could not complete your request yet. We are looking into it.',
  denied: 'We could not carry out your request.',
};

const STATE_LABEL: Record<DeletionStatus['state'], string> = {
  in_progress: 'In progress',
  completed: 'Completed',
  failed: 'Needs attention',
  denied: 'Refused',
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:3rem auto;max-width:34rem;padding:0 1rem;color:#222}dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}dt{color:#666}dd{margin:0}.state{font-size:1.1rem}</style>
</head><body>${body}</body></html>`;
}

export function renderStatusPage(s: DeletionStatus): string {
  return page(
    'Data deletion request',
    `<h1>Data deletion request</h1><p class="state">${escapeHtml(STATE_TEXT[s.state])}</p>
<dl><dt>Confirmation code</dt><dd><code>${escapeHtml(s.confirmation_code)}</code></dd>
<dt>Status</dt><dd>${escapeHtml(STATE_LABEL[s.state])}</dd>
<dt>Received</dt><dd>${escapeHtml(formatTime(s.received_at))}</dd>
<dt>Completed</dt><dd>${s.completed_at ? escapeHtml(formatTime(s.completed_at)) : '&mdash;'}</dd></dl>`,
  );
}

export function renderNotFoundPage(): string {
  return page(
    'Request not found',
    '<h1>Request not found</h1><p>There is no data deletion request under this link. Check that you copied the whole address.</p>',
  );
}
