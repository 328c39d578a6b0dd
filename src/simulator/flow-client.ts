import { decryptFlowResponse, encryptFlowRequest } from '../lib/crypto/flow-crypto.js';
import { signMetaBody } from '../lib/crypto/meta-signature.js';
import { describeAnswer, SimulationError, type HttpClient } from './http-client.js';

/** What the WhatsApp client does against the Flows data endpoint: encrypt, sign, post, decrypt the answer. */
export function createFlowClient(
  http: HttpClient,
  opts: { path: string; appSecret: string; publicKeyPem: string },
) {
  return async function call(
    step: string,
    payload: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const enc = encryptFlowRequest({ version: '3.0', ...payload }, opts.publicKeyPem);
    const body = JSON.stringify(enc.body);
    const answer = await http.post(opts.path, body, {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), opts.appSecret),
    });
    if (answer.status !== 200) {
      throw new SimulationError(`${step}: the Flows endpoint answered ${describeAnswer(answer)}`);
    }
    try {
      return decryptFlowResponse(answer.text, enc.aesKey, enc.iv) as Record<string, unknown>;
    } catch {
      throw new SimulationError(
        `${step}: the Flows endpoint's answer cannot be decrypted with this request's key`,
      );
    }
  };
}

export type FlowClient = ReturnType<typeof createFlowClient>;
