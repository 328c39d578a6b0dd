import { proofReport, type ProofReport } from '../../dsr/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { findScopedRequest } from './view-request.js';

/** The proof report of one request (no personal data), its download audited (`admin.access` proof_report). */
export async function downloadProof(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: AdminPrincipal,
  requestId: string,
): Promise<ProofReport> {
  return deps.database.db.transaction().execute(async (tx) => {
    const row = await findScopedRequest(tx, principal, requestId);
    const report = await proofReport(tx, { tenantId: row.tenant_id, requestId: row.id, now: deps.clock() });
    await deps.audit(tx, {
      tenantId: row.tenant_id,
      type: 'admin.access',
      actor: actorOf(principal),
      subject: { subjectRef: row.subject_ref },
      requestId: row.id,
      data: { resource: 'proof_report', action: 'download' },
    });
    return report;
  });
}
