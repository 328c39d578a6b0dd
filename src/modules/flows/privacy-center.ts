import { privacyChoiceHandler } from './privacy-center-choice.js';
import { privacyEraseHandler } from './privacy-center-erase.js';
import { homeData, PRIVACY_CENTER_PURPOSE, PRIVACY_HOME } from './privacy-center-screens.js';
import { registerFlowHandler, type FlowHandler } from './screen-handlers.js';

/**
 * The Privacy Center Flow (flows/privacy-center.json) on the Flows endpoint, for tokens of purpose
 * `privacy_center`: PRIVACY_HOME shows what is held and offers see / delete / stop marketing
 * (privacy-center-choice.ts); CONFIRM_DELETE takes the scope and the confirmation and erases
 * (privacy-center-erase.ts); MY_DATA and DONE are terminal. Every screen is entered from PRIVACY_HOME, so a
 * BACK (sent by screens with `refresh_on_back`) always lands there, with fresh counts.
 */

export {
  CONFIRM_DELETE,
  describeSummary,
  DONE,
  MY_DATA,
  PRIVACY_CENTER_PURPOSE,
  PRIVACY_HOME,
} from './privacy-center-screens.js';

/** INIT opens PRIVACY_HOME; BACK from any screen returns to it. */
export const privacyHomeHandler: FlowHandler = async (req, deps) => {
  if (req.action !== 'INIT' && req.action !== 'BACK') return undefined;
  return { screen: PRIVACY_HOME, data: await homeData(deps.database.db, req.subjectId, req.summary) };
};

registerFlowHandler(PRIVACY_CENTER_PURPOSE, privacyHomeHandler);
registerFlowHandler(PRIVACY_CENTER_PURPOSE, privacyChoiceHandler);
registerFlowHandler(PRIVACY_CENTER_PURPOSE, privacyEraseHandler);
