/**
 * Retention of operational rows, and blind-index re-indexing.
 * - admin_login_throttle: counters whose window and lock ran out are swept (an index on the window's start);
 *   admin sessions are swept by `expires_at`, which 0008 already indexes.
 * - erasure_journal: shredded entries go once no database backup from before the erasure can be restored
 *   (`retention.days.erasure_journal`); pending entries are never swept.
 * - identities by blind-index version: `keys reindex-hmac` walks the rows of an older version in id order.
 */
export const up = /* sql */ `
create index admin_login_throttle_window on admin_login_throttle (window_started_at);
create index erasure_journal_shredded on erasure_journal (erased_at) where shredded_at is not null;
create index identities_blind_index_version on identities (blind_index_version, id);
`;
