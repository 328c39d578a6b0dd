import { registerFlowHandler, type FlowHandler } from './screen-handlers.js';
import { summariseSubject, type SubjectSummary } from './subject-summary.js';

/**
 * The Privacy Center Flow's home screen: on INIT (and on BACK to it) show the person what flowguard holds about
 * them. The deletion screens (CONFIRM_DELETE → DONE) are served by the DSAR module's handler for this purpose.
 */

export const PRIVACY_CENTER_PURPOSE = 'privacy_center';
export const PRIVACY_HOME = 'PRIVACY_HOME';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One sentence for the screen's TextBody; counts only, never content. */
export function describeSummary(s: SubjectSummary): string {
  const parts = [
    plural(s.messages, 'message', 'messages'),
    plural(s.flow_responses, 'form response', 'form responses'),
    plural(s.media, 'media file', 'media files'),
    plural(s.identities, 'identifier (phone number or user id)', 'identifiers (phone number or user id)'),
  ];
  return `We hold ${parts.join(', ')}${s.has_profile_name ? ', and your WhatsApp profile name' : ''}.`;
}

export const privacyHomeHandler: FlowHandler = async (req, deps) => {
  if (req.action !== 'INIT' && req.action !== 'BACK') return undefined;
  const summary = await summariseSubject(deps.database.db, req.subjectId);
  return { screen: PRIVACY_HOME, data: { ...summary, summary: describeSummary(summary) } };
};

registerFlowHandler(PRIVACY_CENTER_PURPOSE, privacyHomeHandler);
