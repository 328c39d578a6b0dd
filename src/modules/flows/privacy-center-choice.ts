import { createRequest } from '../dsr/index.js';
import {
  CONFIRM_DELETE,
  confirmDeleteData,
  DONE,
  dsrDepsOf,
  homeData,
  MY_DATA,
  myData,
  optedOutData,
  PRIVACY_HOME,
  withSnackbar,
} from './privacy-center-screens.js';
import type { FlowHandler } from './screen-handlers.js';

/**
 * The home screen's choice (`data_exchange` from PRIVACY_HOME with `{choice}`):
 * - `erasure` → CONFIRM_DELETE with the scopes that hold data and the tenant's service-impact notice; nothing
 *   is recorded until the person confirms there.
 * - `access` → an access request verified by the flow token (it completes at once), then MY_DATA with the
 *   counts per category and its reference.
 * - `opt_out` → a marketing opt-out (no verification needed; the token proves it anyway), then DONE.
 * The token stays valid: from MY_DATA or DONE the person may still go back and ask for something else.
 */

export const CHOICE_REQUIRED = 'Please choose what you would like to do.';

export const privacyChoiceHandler: FlowHandler = async (req, deps) => {
  if (req.action !== 'data_exchange' || req.screen !== PRIVACY_HOME) return undefined;
  const db = deps.database.db;
  const choice = req.data.choice;
  if (choice === 'erasure') {
    return { screen: CONFIRM_DELETE, data: { ...(await confirmDeleteData(db, req.tenant, req.subjectId)) } };
  }
  if (choice !== 'access' && choice !== 'opt_out') {
    return withSnackbar(PRIVACY_HOME, await homeData(db, req.subjectId), CHOICE_REQUIRED);
  }
  const created = await db.transaction().execute((tx) =>
    createRequest(tx, dsrDepsOf(deps), {
      tenant: req.tenant,
      type: choice,
      channel: 'flow',
      subject: { subjectId: req.subjectId },
      verification: 'flow_token',
      actor: { type: 'subject' },
    }),
  );
  deps.logger.info(
    {
      tenant: req.tenant.id,
      request: created.id,
      type: choice,
      status: created.status,
      joined: created.joined,
    },
    'privacy request made in the Privacy Center Flow',
  );
  if (choice === 'access') {
    return { screen: MY_DATA, data: { ...(await myData(db, req.subjectId, created)) } };
  }
  return { screen: DONE, data: optedOutData(created) };
};
