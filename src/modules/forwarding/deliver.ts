import crypto from 'node:crypto';
import type { z } from 'zod';
import type { forwardTargetSchema } from '../../config/config.js';

/** One signed POST of one event to one downstream URL. */

export type ForwardTarget = z.infer<typeof forwardTargetSchema>;

export const DELIVERY_TIMEOUT_MS = 10_000;

export type DeliveryResult = { ok: true; status: number } | { ok: false; error: string };

/** `sha256=<hex>` over the exact body bytes, the way Meta signs its webhooks (X-Hub-Signature-256). */
export function signBody(secret: string, body: Buffer): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The failure reason kept on the row and in logs: a status or an error class, never a body or a URL. */
function errorClass(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return `network ${code}`;
    return `network ${err.name}`;
  }
  return 'network error';
}

export async function deliver(
  target: ForwardTarget,
  delivery: { id: string; body: string; timestamp: Date },
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<DeliveryResult> {
  const bytes = Buffer.from(delivery.body, 'utf8');
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-flowguard-signature-256': signBody(target.secret, bytes),
        'x-flowguard-delivery': delivery.id,
        'x-flowguard-timestamp': String(Math.floor(delivery.timestamp.getTime() / 1000)),
      },
      body: bytes,
      // A signed body goes to the configured URL only; a redirect counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300
      ? { ok: true, status: res.status }
      : { ok: false, error: `http ${res.status}` };
  } catch (err) {
    return { ok: false, error: errorClass(err) };
  }
}
