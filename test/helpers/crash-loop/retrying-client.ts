import type { KeyObject } from 'node:crypto';
import { decryptFlowResponse, encryptFlowRequest } from '../../../src/lib/crypto/flow-crypto.js';
import { signMetaBody } from '../../../src/lib/crypto/meta-signature.js';

/**
 * A client of a flowguard that may die at any moment, as Meta, the WhatsApp client and the business's backend
 * behave towards it: a call that gets no answer (refused, reset, timed out) or a 5xx is sent again, with the
 * same body, until an answer comes. `maybeDone` tells the caller that an earlier attempt of the call may have
 * reached the server before it died (its answer was lost), so the answer now may describe a retry.
 */

export interface Answer {
  status: number;
  text: string;
  /** An earlier attempt got no answer after it was sent: the server may have committed it. */
  maybeDone: boolean;
}

export interface FlowAnswer extends Answer {
  answer?: Record<string, unknown>;
}

export interface ClientStats {
  calls: number;
  /** Attempts refused because no server listened (sent while it was down or restarting). */
  refused: number;
  /** Attempts whose connection broke or timed out without an answer (the server died under them). */
  broken: number;
  serverErrors: number;
  /** Calls that needed more than one attempt. */
  retriedCalls: number;
}

const ATTEMPT_TIMEOUT_MS = 30_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RetryingClient {
  readonly stats: ClientStats = { calls: 0, refused: 0, broken: 0, serverErrors: 0, retriedCalls: 0 };

  constructor(
    private readonly baseUrl: string,
    private readonly opts: {
      appSecret: string;
      publicKey: KeyObject;
      apiKey: string;
      /** Give up (throw) after this time (ms since epoch): a call that never succeeds is a finding. */
      deadline: number;
    },
  ) {}

  get deadline(): number {
    return this.opts.deadline;
  }

  async send(method: 'GET' | 'POST', path: string, body?: string, headers: Record<string, string> = {}) {
    this.stats.calls++;
    let maybeDone = false;
    for (let attempt = 0; ; attempt++) {
      if (attempt === 1) this.stats.retriedCalls++;
      if (Date.now() > this.opts.deadline)
        throw new Error(`${method} ${path}: no answer before the deadline`);
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        const text = await res.text();
        if (res.status < 500) return { status: res.status, text, maybeDone };
        this.stats.serverErrors++;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ECONNREFUSED') this.stats.refused++;
        else {
          this.stats.broken++;
          maybeDone = true;
        }
      }
      await pause(100 + Math.random() * 200);
    }
  }

  /** A webhook delivery signed with the app secret, delivered again until flowguard acknowledges it. */
  webhook(body: string): Promise<Answer> {
    return this.send('POST', '/webhooks/whatsapp', body, {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), this.opts.appSecret),
    });
  }

  /** A Flows endpoint call (data API 3.0), encrypted and signed as the WhatsApp client does. */
  async flow(payload: Record<string, unknown>): Promise<FlowAnswer> {
    const enc = encryptFlowRequest({ version: '3.0', ...payload }, this.opts.publicKey);
    const body = JSON.stringify(enc.body);
    const res: FlowAnswer = await this.send('POST', '/flows/endpoint', body, {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), this.opts.appSecret),
    });
    if (res.status === 200)
      res.answer = decryptFlowResponse(res.text, enc.aesKey, enc.iv) as FlowAnswer['answer'];
    return res;
  }

  /** A call to the API with the business's key; `body` goes as JSON. */
  api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.send(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
  }
}
