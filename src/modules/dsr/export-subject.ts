import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { SubjectKeys } from '../subjects/index.js';
import { ownCategories, type CategoryInfo, type OwnCategory } from './categories.js';
import type { SystemsSection } from './export-systems.js';

type Row = Record<string, string | number | boolean | null>;

export interface AccessBundle {
  format: 'flowguard.access.v1';
  generated_at: string;
  request: { id: string; reference: string; received_at: string } | undefined;
  controller_note: string;
  categories: (Omit<CategoryInfo, 'tables'> & { records: Row[] })[];
  /** What the data map's systems exported for an access request (export-systems.ts), and its recipients. */
  systems?: SystemsSection['systems'];
  recipients?: SystemsSection['recipients'];
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * Everything flowguard holds about one person, decrypted, with what GDPR Art. 15(1) requires per category
 * (purposes, source, retention, recipients). Built on demand from the live data; nothing is copied.
 */
export async function exportSubject(
  db: Kysely<DB>,
  deps: { subjectKeys: Pick<SubjectKeys, 'cipher'>; clock: () => Date },
  input: {
    subjectId: string | null;
    request?: { id: string; reference: string; received_at: Date | string };
  },
): Promise<AccessBundle> {
  const records: Record<OwnCategory, Row[]> = {
    identity: [],
    profile: [],
    messages: [],
    flow_responses: [],
    media: [],
    delivery_statuses: [],
  };
  const cipher = input.subjectId ? await deps.subjectKeys.cipher(db, input.subjectId) : undefined;
  if (input.subjectId && cipher) {
    const sid = input.subjectId;
    const subject = await db
      .selectFrom('subjects')
      .selectAll()
      .where('id', '=', sid)
      .executeTakeFirstOrThrow();
    records.profile.push({
      profile_name: subject.profile_name
        ? cipher.decrypt(subject.profile_name, 'subjects', 'profile_name', sid)
        : null,
      marketing_opt_out: subject.marketing_opt_out,
      processing_restricted: subject.restricted,
      first_seen_at: iso(subject.first_seen_at),
      last_seen_at: iso(subject.last_seen_at),
    });
    for (const r of await db
      .selectFrom('identities')
      .selectAll()
      .where('subject_id', '=', sid)
      .orderBy('created_at')
      .execute()) {
      records.identity.push({
        kind: r.kind === 'phone' ? 'phone_number' : 'business_scoped_user_id',
        value: cipher.decrypt(r.value, 'identities', 'value', r.id),
        first_seen_at: iso(r.created_at),
        replaced_at: iso(r.superseded_at),
      });
    }
    for (const r of await db
      .selectFrom('messages')
      .selectAll()
      .where('subject_id', '=', sid)
      .orderBy('sent_at')
      .execute()) {
      records.messages.push({
        direction: r.direction,
        type: r.type,
        sent_at: iso(r.sent_at),
        content: r.content ? cipher.decrypt(r.content, 'messages', 'content', r.id) : null,
      });
    }
    for (const r of await db
      .selectFrom('flow_responses')
      .selectAll()
      .where('subject_id', '=', sid)
      .orderBy('received_at')
      .execute()) {
      records.flow_responses.push({
        id: r.id,
        received_at: iso(r.received_at),
        response: cipher.decrypt(r.response, 'flow_responses', 'response', r.id),
      });
    }
    for (const r of await db
      .selectFrom('media')
      .selectAll()
      .where('subject_id', '=', sid)
      .orderBy('received_at')
      .execute()) {
      records.media.push({
        media_id: cipher.decrypt(r.media_ref, 'media', 'media_ref', r.id),
        mime_type: r.mime_type,
        sha256: r.sha256 ? cipher.decrypt(r.sha256, 'media', 'sha256', r.id) : null,
        caption: r.caption ? cipher.decrypt(r.caption, 'media', 'caption', r.id) : null,
        received_at: iso(r.received_at),
        // The stored file itself (tenant setting storeMedia) is listed, not embedded: its name and size.
        stored_file: r.stored_at && r.storage_key ? (r.storage_key.split('/')[1] ?? null) : null,
        stored_file_size_bytes: r.stored_at ? r.stored_size : null,
      });
    }
    for (const r of await db
      .selectFrom('message_statuses')
      .selectAll()
      .where('subject_id', '=', sid)
      .orderBy('status_at')
      .execute()) {
      records.delivery_statuses.push({
        status: r.status,
        error_code: r.error_code,
        status_at: iso(r.status_at),
      });
    }
  }
  return {
    format: 'flowguard.access.v1',
    generated_at: deps.clock().toISOString(),
    request: input.request
      ? {
          id: input.request.id,
          reference: input.request.reference,
          received_at: new Date(input.request.received_at).toISOString(),
        }
      : undefined,
    controller_note:
      'This is the personal data this service holds about you. Other systems of the business listed in its data map answer separately.',
    categories: ownCategories.map(({ tables: _t, ...info }) => ({ ...info, records: records[info.id] })),
  };
}

/** One CSV per category (RFC 4180 quoting), for GDPR Art. 20 portability. */
export function bundleToCsv(bundle: AccessBundle, category: OwnCategory): string {
  const cat = bundle.categories.find((c) => c.id === category);
  if (!cat || cat.records.length === 0) return '';
  const columns = [...new Set(cat.records.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [columns.join(','), ...cat.records.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') +
    '\r\n'
  );
}
