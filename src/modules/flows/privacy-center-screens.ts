import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { appendAudit } from '../audit/index.js';
import { ownCategories, type DsrDeps, type OwnCategory } from '../dsr/index.js';
import type { Tenant } from '../tenants/index.js';
import type { FlowHandlerDeps, FlowScreenResponse } from './screen-handlers.js';
import { summariseSubject, type SubjectSummary } from './subject-summary.js';

/**
 * The Privacy Center Flow's screens (flows/privacy-center.json) and the data the endpoint sends to each. Every
 * key sent here is declared in that screen's `data` in the Flow JSON (an integration test holds the two
 * together); `error_message` is Meta's snackbar key and may be added to any screen.
 */

export const PRIVACY_CENTER_PURPOSE = 'privacy_center';
export const PRIVACY_HOME = 'PRIVACY_HOME';
export const CONFIRM_DELETE = 'CONFIRM_DELETE';
export const MY_DATA = 'MY_DATA';
export const DONE = 'DONE';
/** Meta's reserved screen name: answering it completes the Flow. */
export const SUCCESS = 'SUCCESS';

export interface DeletionScopeOption {
  id: string;
  title: string;
  description: string;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One sentence for the home screen's TextBody; counts only, never content. */
export function describeSummary(s: SubjectSummary): string {
  const parts = [
    plural(s.messages, 'message', 'messages'),
    plural(s.flow_responses, 'form response', 'form responses'),
    plural(s.media, 'media file', 'media files'),
    plural(s.identities, 'identifier (phone number or user id)', 'identifiers (phone number or user id)'),
  ];
  return `We hold ${parts.join(', ')}${s.has_profile_name ? ', and your WhatsApp profile name' : ''}.`;
}

/** PRIVACY_HOME's data; `summary` when the caller has already read it (with the flow token). */
export async function homeData(
  db: Kysely<DB>,
  subjectId: string,
  summary?: SubjectSummary,
): Promise<Record<string, unknown>> {
  const s = summary ?? (await summariseSubject(db, subjectId));
  return { ...s, summary: describeSummary(s) };
}

async function deliveryStatuses(db: Kysely<DB>, subjectId: string): Promise<number> {
  const row = await db
    .selectFrom('message_statuses')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

const describe = (id: OwnCategory) => ownCategories.find((c) => c.id === id)?.label ?? id;

/** What can be deleted: everything, or one category that holds something (with its count), plus the notice. */
export async function confirmDeleteData(
  db: Kysely<DB>,
  tenant: Tenant,
  subjectId: string,
): Promise<{ scopes: DeletionScopeOption[]; notice: string }> {
  const s = await summariseSubject(db, subjectId);
  const statuses = await deliveryStatuses(db, subjectId);
  const scopes: DeletionScopeOption[] = [
    {
      id: 'all',
      title: 'Everything',
      description:
        'All data we hold about you, including your phone number and WhatsApp user id. We will no longer recognise you.',
    },
  ];
  if (s.has_profile_name)
    scopes.push({ id: 'profile', title: 'Profile name', description: describe('profile') });
  const counted: [OwnCategory, string, number][] = [
    ['messages', 'Messages', s.messages],
    ['flow_responses', 'Form answers', s.flow_responses],
    ['media', 'Media files', s.media],
    ['delivery_statuses', 'Delivery receipts', statuses],
  ];
  for (const [id, title, n] of counted) {
    if (n > 0) scopes.push({ id, title: `${title} (${n})`, description: describe(id) });
  }
  return { scopes, notice: tenant.settings.privacyNotice.deletion };
}

/** The access summary: counts per category as a markdown list, and what happens next. */
export async function myData(
  db: Kysely<DB>,
  subjectId: string,
  request: { id: string; reference: string },
): Promise<{ request_id: string; reference: string; details: string; note: string }> {
  const s = await summariseSubject(db, subjectId);
  const lines = [
    `Messages: ${s.messages}`,
    `Form answers: ${s.flow_responses}`,
    `Media files: ${s.media}`,
    `Delivery receipts: ${await deliveryStatuses(db, subjectId)}`,
    `Identifiers (phone number or user id): ${s.identities}`,
    `WhatsApp profile name: ${s.has_profile_name ? 'yes' : 'no'}`,
  ];
  return {
    request_id: request.id,
    reference: request.reference,
    details: lines.map((l) => `- ${l}`).join('\n'),
    note: `A full copy of your data will be sent to you in this chat. Your request reference is ${request.reference}.`,
  };
}

export function optedOutData(request: { id: string; reference: string }) {
  return {
    request_id: request.id,
    heading: 'No more marketing messages',
    message: `We will not send you offers or promotions any more. Replies about your own requests continue. Your request reference is ${request.reference}.`,
  };
}

/** Stay on a screen with its data and a snackbar (Meta's `error_message`). */
export function withSnackbar(
  screen: string,
  data: Record<string, unknown>,
  message: string,
): FlowScreenResponse {
  return { screen, data: { ...data, error_message: message } };
}

/** The privacy-request engine's dependencies from the Flow handler's (audit through the hash-chained log). */
export function dsrDepsOf(deps: FlowHandlerDeps): DsrDeps {
  const { keyring, subjects, subjectKeys, queue, clock, logger, config, tenants } = deps;
  const base = { keyring, subjects, subjectKeys, queue, clock, logger, config, tenants };
  return { ...base, audit: (tx, event) => appendAudit(tx, keyring, event) };
}
