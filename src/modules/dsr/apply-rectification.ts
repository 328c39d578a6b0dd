import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { PrivacyRequestRow } from './dsr.repo.js';
import type { DsrDeps } from './dsr.types.js';

/** What a rectification may change in flowguard's own store (GDPR Art. 16): the profile name and flow answers. */
export const rectificationParams = z
  .object({
    profile_name: z.string().trim().min(1).max(200).optional(),
    flow_response: z
      .object({
        id: z.uuid(),
        fields: z.record(
          z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
          z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]),
        ),
      })
      .optional(),
  })
  .refine((p) => p.profile_name !== undefined || p.flow_response !== undefined, {
    message: 'give profile_name and/or flow_response',
  });
export type RectificationParams = z.infer<typeof rectificationParams>;

export async function applyRectification(
  tx: Kysely<DB>,
  deps: Pick<DsrDeps, 'subjectKeys' | 'audit'>,
  request: PrivacyRequestRow,
  subjectId: string,
): Promise<Record<string, number>> {
  const cipher = await deps.subjectKeys.cipher(tx, subjectId);
  if (!cipher || !request.params) return {};
  const params = rectificationParams.parse(
    JSON.parse(cipher.decrypt(request.params, 'privacy_requests', 'params', request.id)),
  );
  const counts: Record<string, number> = {};
  if (params.profile_name !== undefined) {
    await tx
      .updateTable('subjects')
      .set({ profile_name: cipher.encrypt(params.profile_name, 'subjects', 'profile_name', subjectId) })
      .where('id', '=', subjectId)
      .execute();
    counts.profile_name = 1;
  }
  if (params.flow_response) {
    const row = await tx
      .selectFrom('flow_responses')
      .select(['id', 'response'])
      .where('id', '=', params.flow_response.id)
      .where('subject_id', '=', subjectId)
      .forUpdate()
      .executeTakeFirst();
    if (!row)
      throw new AppError('NOT_FOUND', { field: 'flow_response.id' }, 'no such flow response for this person');
    const current = JSON.parse(cipher.decrypt(row.response, 'flow_responses', 'response', row.id)) as Record<
      string,
      unknown
    >;
    const next = { ...current, ...params.flow_response.fields };
    await tx
      .updateTable('flow_responses')
      .set({ response: cipher.encrypt(JSON.stringify(next), 'flow_responses', 'response', row.id) })
      .where('id', '=', row.id)
      .execute();
    counts.flow_response_fields = Object.keys(params.flow_response.fields).length;
  }
  const fields = [
    ...(params.profile_name !== undefined ? (['profile_name'] as const) : []),
    ...(params.flow_response ? (['custom'] as const) : []),
  ];
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'rectification.applied',
    actor: { type: 'system' },
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: { fields: [...fields], systems: 1 },
  });
  return counts;
}
