import type { AppContext } from '../../app/context.js';
import { appendAudit } from '../audit/index.js';
import type { DsrDeps } from './dsr.types.js';

export { ERASABLE_SCOPES, ownCategories, type ErasureScope, type OwnCategory } from './categories.js';
export { confirmRequest, CONFIRM_PREFIX } from './confirm-request.js';
export { createRequest, verifyAndExecute, type CreatedRequest } from './create-request.js';
export { dueDate, type Regime } from './deadlines.js';
export type { Actor, CreateRequestInput, DsrDeps, RequestChannel, VerificationMethod } from './dsr.types.js';
export { bundleToCsv, exportSubject, type AccessBundle } from './export-subject.js';
export { createPrivacyIntents } from './privacy-intents.js';
export { getRequestView } from './request-view.js';
export { rectificationParams } from './apply-rectification.js';
export { startNotifyWorker, sendNotification } from './notify.worker.js';
export { registerDsrRoutes } from './dsr.routes.js';
export { parseStaffRequest, type StaffRequestInput } from './request-input.js';
export { createStaffRequest } from './create-staff-request.js';
export { listRequests } from './list-requests.js';
export { extendRequest, EXTENSION_REASONS } from './extend-request.js';
export { denyRequest, DENIAL_REASONS } from './deny-request.js';
export { proofReport } from './proof-report.js';
export {
  REQUEST_STATUSES,
  REQUEST_TYPES,
  type ProofReport,
  type RequestSummary,
  type RequestView,
} from './request-shapes.js';
export { exportRequest, type RequestExport } from './export-request.js';
export { waitForRequest } from './wait-for-request.js';
export { requestIdFrom } from './request-id.js';
export { requestPaths } from './requests.openapi.js';
export { requestSchemas } from './requests.openapi-schemas.js';

/** The privacy-request engine's dependencies, with audit events written through the hash-chained log. */
export function createDsrDeps(ctx: AppContext): DsrDeps {
  return {
    keyring: ctx.keyring,
    subjects: ctx.subjects,
    subjectKeys: ctx.subjectKeys,
    queue: ctx.queue,
    clock: ctx.clock,
    logger: ctx.logger,
    config: ctx.config,
    tenants: ctx.tenants,
    audit: (tx, event) => appendAudit(tx, ctx.keyring, event),
  };
}
