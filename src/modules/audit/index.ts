export {
  adoptLockedHead,
  appendAudit,
  appendAuditMany,
  batchHoldsChainLock,
  takeHeldAudit,
  type HeldAudit,
  withAuditBatch,
  type AppendedAuditEvent,
} from './append-audit.js';
export { headForUpdate, type ChainHead } from './audit.repo.js';
export {
  AUDIT_EVENT_TYPES,
  auditCatalog,
  isAuditEventType,
  type ActorType,
  type AuditEventData,
  type AuditEventType,
} from './catalog.js';
export { AUDIT_KEY_VERSION, auditKeyVersionOf, auditSubjectRef, auditSubjectRefs } from './subject-ref.js';
export { validateAuditEvent, type AuditEvent } from './validate-event.js';
export { verifyAuditChain, type AuditChainFault, type AuditChainReport } from './verify-audit-chain.js';
