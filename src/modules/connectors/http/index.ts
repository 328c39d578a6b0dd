import type { SystemSpec } from '../../../config/datamap.js';
import { PermanentError, classify } from '../errors.js';
import type { Connector, ConnectorDeps, EraseOutcome, Located, SubjectIdentifiers } from '../port.js';
import { registerConnector } from '../registry.js';
import { callReceiver } from './call-receiver.js';
import { RECEIVER, parseDone, parseExport, parseLocated, requestBody, type HttpAction } from './protocol.js';

type HttpSpec = Extract<SystemSpec, { type: 'http' }>;

/**
 * The business's own service, reached by a signed POST per action (see ./README.md for the receiver's side).
 * An erasure is either done at once (200 with counts) or accepted (202): then erase returns a `pending`
 * outcome and the receiver confirms later on the callback URL, which checks it with verifyHttpConfirmation.
 * A system marked `retain` is only located and reported, never asked to erase.
 */
function createHttpConnector(spec: HttpSpec, deps: ConnectorDeps): Connector {
  const category = spec.category ?? 'other';
  const retained = spec.retain?.reason;

  async function call(action: HttpAction, ids: SubjectIdentifiers, requestId: string | null = null) {
    const timestamp = Math.floor(Date.now() / 1000);
    const callbackUrl = action === 'erase' && requestId ? deps.callbackUrl?.(requestId, spec.id) : undefined;
    const body = requestBody({ requestId, systemId: spec.id, action, ids, callbackUrl, timestamp });
    const res = await callReceiver(spec, action, body, timestamp);
    if (res.status === 202 && action !== 'erase') {
      throw new PermanentError('http_unexpected_202', `receiver may only defer erase, not ${action}`);
    }
    return res;
  }

  const locate = async (ids: SubjectIdentifiers): Promise<Located[]> =>
    parseLocated((await call('locate', ids)).body).map((l) => ({ ...l, retained }));

  return {
    id: spec.id,
    type: 'http',
    locate,
    async export(ids) {
      return parseExport((await call('export', ids)).body, category);
    },
    async erase(ids, ctx): Promise<EraseOutcome[]> {
      if (retained) {
        return (await locate(ids)).map((l) => ({
          where: l.where,
          action: 'retained',
          count: l.count,
          reason: retained,
        }));
      }
      const res = await call('erase', ids, ctx.requestId);
      if (res.status === 202) {
        return [{ where: RECEIVER, action: 'pending', count: 0, reason: 'awaiting confirmation' }];
      }
      return parseDone(res.body);
    },
    async verify(ids) {
      if (retained) return [];
      return parseLocated((await call('verify', ids)).body);
    },
    async check() {
      try {
        await call('locate', { e164: [], digits: [], bsuid: [] });
        return { reachable: true, warnings: [] };
      } catch (err) {
        return { reachable: false, warnings: [`${spec.id}: ${classify(err).message}`] };
      }
    },
    async close() {
      // fetch keeps no per-connector state.
    },
  };
}

registerConnector('http', createHttpConnector);
