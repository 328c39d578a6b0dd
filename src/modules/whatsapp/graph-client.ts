import type { Identity } from '../../lib/phone.js';
import { e164Digits } from '../../lib/phone.js';

/**
 * The slice of Meta's Cloud API flowguard calls: sending a message to one person
 * (`POST /{phone_number_id}/messages` with a bearer token). A phone goes in `to` (digits, as wa_id); a
 * business-scoped user id goes in `recipient`.
 */

export class GraphApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    readonly retryable: boolean,
  ) {
    super(`graph api answered ${status}${code !== undefined ? ` (code ${code})` : ''}`);
    this.name = 'GraphApiError';
  }
}

export type OutgoingMessage =
  | { type: 'text'; body: string }
  | { type: 'buttons'; body: string; buttons: { id: string; title: string }[] };

export interface GraphClient {
  sendMessage(
    sender: { phoneNumberId: string; accessToken: string },
    to: Identity,
    message: OutgoingMessage,
  ): Promise<{ messageId: string | undefined }>;
}

// Meta error codes worth retrying: throttling and temporary unavailability.
const RETRYABLE_CODES = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004]);

export function createGraphClient(opts: {
  baseUrl: string;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}): GraphClient {
  const doFetch = opts.fetchImpl ?? fetch;
  return {
    async sendMessage(sender, to, message) {
      const recipient = to.kind === 'phone' ? { to: e164Digits(to.value) } : { recipient: to.value };
      const body =
        message.type === 'text'
          ? { type: 'text', text: { body: message.body, preview_url: false } }
          : {
              type: 'interactive',
              interactive: {
                type: 'button',
                body: { text: message.body },
                action: {
                  buttons: message.buttons.map((b) => ({
                    type: 'reply',
                    reply: { id: b.id, title: b.title },
                  })),
                },
              },
            };
      let res: Response;
      try {
        res = await doFetch(`${opts.baseUrl}/${encodeURIComponent(sender.phoneNumberId)}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${sender.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            messaging_product: 'whatsapp',
            recipient_type: 'individual',
            ...recipient,
            ...body,
          }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch {
        throw new GraphApiError(0, undefined, true);
      }
      const json = (await res.json().catch(() => ({}))) as {
        messages?: { id?: string }[];
        error?: { code?: number };
      };
      if (!res.ok) {
        const code = json.error?.code;
        const retryable =
          res.status >= 500 || res.status === 429 || (code !== undefined && RETRYABLE_CODES.has(code));
        throw new GraphApiError(res.status, code, retryable);
      }
      return { messageId: json.messages?.[0]?.id };
    },
  };
}
