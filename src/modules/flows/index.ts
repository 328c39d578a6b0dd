export {
  createFlowTokens,
  DEFAULT_FLOW_PURPOSE,
  type FlowTokens,
  type IssuedFlowToken,
  type VerifiedFlowToken,
} from './flow-tokens.js';
export { registerFlowsRoutes } from './flows.routes.js';
export { identityFromInput } from './identity-input.js';
export { PRIVACY_CENTER_PURPOSE, PRIVACY_HOME } from './privacy-center.js';
export {
  dispatchFlowScreen,
  registerFlowHandler,
  type FlowHandler,
  type FlowHandlerDeps,
  type FlowScreenAction,
  type FlowScreenRequest,
  type FlowScreenResponse,
} from './screen-handlers.js';
export { summariseSubject, type SubjectSummary } from './subject-summary.js';
