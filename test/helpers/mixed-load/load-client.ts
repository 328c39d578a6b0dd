import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decryptFlowResponse, encryptFlowRequest } from '../../../src/lib/crypto/flow-crypto.js';
import { signMetaBody } from '../../../src/lib/crypto/meta-signature.js';
import type { LoadStats } from './load-stats.js';

/**
 * The mixed load's HTTP calls to a running flowguard, as Meta, the WhatsApp client and the business's backend
 * make them: signed webhooks, encrypted Flows endpoint calls, API calls with a key. Every call is timed under its
 * kind; a call that gets no answer at all (refused, reset, timed out) has status 0.
 */

export interface Answer {
  status: number;
  text: string;
}

export interface FlowAnswer extends Answer {
  /** The decrypted answer of a 200 (undefined when it cannot be decrypted). */
  answer?: Record<string, unknown>;
}

const TIMEOUT_MS = 60_000;

export class LoadClient {
  constructor(
    private readonly baseUrl: string,
    private readonly opts: { appSecret: string; publicKey: KeyObject; apiKey: string; stats: LoadStats },
  ) {}

  async call(
    kind: string,
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      this.opts.stats.record(kind, performance.now() - t0);
      return { status: res.status, text };
    } catch (err) {
      this.opts.stats.record(kind, performance.now() - t0);
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      return { status: 0, text: `no answer (${cause})` };
    }
  }

  /** POST a webhook body signed with the app secret (or with `secret`, to provoke a refusal). */
  webhook(kind: string, body: string, secret = this.opts.appSecret): Promise<Answer> {
    return this.call(kind, 'POST', '/webhooks/whatsapp', body, {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), secret),
    });
  }

  /** One Flows endpoint call (data API 3.0), encrypted and signed as the WhatsApp client does. */
  async flow(kind: string, payload: Record<string, unknown>): Promise<FlowAnswer> {
    const enc = encryptFlowRequest({ version: '3.0', ...payload }, this.opts.publicKey);
    const body = JSON.stringify(enc.body);
    const res: FlowAnswer = await this.call(kind, 'POST', '/flows/endpoint', body, {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), this.opts.appSecret),
    });
    if (res.status === 200) {
      try {
        res.answer = decryptFlowResponse(res.text, enc.aesKey, enc.iv) as Record<string, unknown>;
      } catch {
        // left undefined: the caller reports an answer it cannot read
      }
    }
    return res;
  }

  /** A call to the API with the business's key; `body` is sent as JSON. */
  api(kind: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.call(kind, method, path, body === undefined ? undefined : JSON.stringify(body), headers);
  }
}

/** A short description of an unexpected answer for the failure list (status and the start of the body). */
export function describeAnswer(a: Answer): string {
  return `${a.status} ${a.text.slice(0, 160)}`;
}
