import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { ownCategories, type OwnCategory } from './categories.js';
import { createDsrRepo } from './dsr.repo.js';
import type { Actor, DsrDeps } from './dsr.types.js';
import { bundleToCsv, exportSubject, type AccessBundle } from './export-subject.js';
import { exportSystems } from './export-systems.js';

const repo = createDsrRepo();

export interface ExportOptions {
  format?: unknown;
  category?: unknown;
}

export type RequestExport =
  | { format: 'json'; bundle: AccessBundle; body: string; filename: string }
  | { format: 'csv'; body: string; filename: string };

function exportFormat(opts: ExportOptions): { format: 'json' } | { format: 'csv'; category: OwnCategory } {
  const format = opts.format ?? 'json';
  if (format === 'json') return { format: 'json' };
  if (format !== 'csv')
    throw new AppError('VALIDATION_FAILED', { field: 'format' }, 'format must be json or csv');
  const ids = ownCategories.map((c) => c.id as string);
  if (typeof opts.category !== 'string' || !ids.includes(opts.category)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'category' },
      `a CSV export is one category: category must be one of ${ids.join(', ')}`,
    );
  }
  return { format: 'csv', category: opts.category as OwnCategory };
}

/**
 * The answer to a completed access request (GDPR Art. 15, 20): the bundle as JSON, or one category as CSV,
 * built from the data as it is now. Only a completed access request has one (409 otherwise); every export is
 * audited (`export.generated`) in its own transaction, with its size and how long it took.
 */
export async function exportRequest(
  db: Kysely<DB>,
  deps: Pick<DsrDeps, 'subjectKeys' | 'clock' | 'audit' | 'keyring' | 'config'>,
  input: { tenantId?: string | undefined; requestId: string; actor: Actor } & ExportOptions,
): Promise<RequestExport> {
  const started = Date.now();
  const shape = exportFormat(input);
  const request = await repo.findById(db, input.tenantId, input.requestId);
  if (!request) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  if (request.type !== 'access') {
    throw new AppError('CONFLICT', { type: request.type }, 'only an access request has an export');
  }
  if (request.status !== 'completed') {
    throw new AppError('CONFLICT', { status: request.status }, 'the access request is not completed');
  }
  const bundle = await exportSubject(db, deps, { subjectId: request.subject_id, request });
  // Every data-map system exported before the request completed; their records join the bundle.
  const section = await exportSystems(db, deps, request.id, deps.clock());
  if (deps.config.systems.length) {
    Object.assign(bundle, section, {
      controller_note:
        'This is the personal data this service and the other systems of the business (listed under systems) hold about you; recipients are the third parties it is disclosed to.',
    });
  }
  const base = `flowguard-export-${request.reference}`;
  const out: RequestExport =
    shape.format === 'json'
      ? { format: 'json', bundle, body: JSON.stringify(bundle), filename: `${base}.json` }
      : {
          format: 'csv',
          body: bundleToCsv(bundle, shape.category),
          filename: `${base}-${shape.category}.csv`,
        };
  await db.transaction().execute((tx) =>
    deps.audit(tx, {
      tenantId: request.tenant_id,
      type: 'export.generated',
      actor: input.actor,
      subject: { subjectRef: request.subject_ref },
      requestId: request.id,
      data: {
        format: out.format,
        systems: 1 + new Set(section.systems.map((x) => x.system_id)).size,
        bytes: Buffer.byteLength(out.body, 'utf8'),
        duration_ms: Math.max(0, Math.round(Date.now() - started)),
      },
    }),
  );
  return out;
}
