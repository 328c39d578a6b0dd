import type { AppContext } from '../../app/context.js';
import type { Tenant } from '../tenants/index.js';
import type { SubjectSummary } from './subject-summary.js';

/**
 * Screen handlers answer the Flow calls that carry a valid flow token, chosen by the token's purpose. Several
 * handlers may serve one purpose (the Privacy Center's home screen here, its deletion screens in the DSAR module):
 * the most recently registered is asked first, and a handler returns undefined for a call it does not serve.
 * A call no handler serves gets an error snackbar, never a 5xx.
 */

export type FlowScreenAction = 'INIT' | 'BACK' | 'data_exchange';

export interface FlowScreenRequest {
  tenant: Tenant;
  subjectId: string;
  tokenId: string;
  /** The token as presented; handlers echo it in `extension_message_response.params`. Never log it. */
  flowToken: string;
  action: FlowScreenAction;
  /** The screen the call came from (absent on INIT). Not validated beyond being a string. */
  screen: string | undefined;
  data: Record<string, unknown>;
  /**
   * On INIT and BACK (the calls that open a home screen): what the store holds about the subject, read with the
   * flow token in one statement. Handlers that show it use this rather than reading it again.
   */
  summary?: SubjectSummary | undefined;
}

/** The next screen, or `{screen: 'SUCCESS', data: {extension_message_response: {params}}}` to complete. */
export interface FlowScreenResponse {
  screen: string;
  data: Record<string, unknown>;
}

export type FlowHandlerDeps = Pick<
  AppContext,
  'config' | 'database' | 'keyring' | 'subjectKeys' | 'subjects' | 'tenants' | 'queue' | 'clock' | 'logger'
>;

export type FlowHandler = (
  req: FlowScreenRequest,
  deps: FlowHandlerDeps,
) => Promise<FlowScreenResponse | undefined>;

const handlers = new Map<string, FlowHandler[]>();

/** Add a handler for a token purpose (at module load). Registering the same function twice is a no-op. */
export function registerFlowHandler(purpose: string, handler: FlowHandler): void {
  const list = handlers.get(purpose) ?? [];
  if (!list.includes(handler)) list.push(handler);
  handlers.set(purpose, list);
}

/** The handlers of a purpose, most recently registered first. */
export function flowHandlersFor(purpose: string): readonly FlowHandler[] {
  return [...(handlers.get(purpose) ?? [])].reverse();
}

/** Ask the purpose's handlers in turn; undefined when none serves this call. */
export async function dispatchFlowScreen(
  purpose: string,
  req: FlowScreenRequest,
  deps: FlowHandlerDeps,
): Promise<FlowScreenResponse | undefined> {
  for (const handler of flowHandlersFor(purpose)) {
    const response = await handler(req, deps);
    if (response) return response;
  }
  return undefined;
}
