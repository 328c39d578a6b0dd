import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A business's own service answering the http connector, as a receiver would write it from the protocol in
 * src/modules/connectors/http/README.md — independent of the connector's code: it checks
 * `X-Flowguard-Signature-256` (HMAC-SHA256 of the raw body) and the five-minute timestamp window, keeps
 * records per identifier value in two places (`profiles`, `orders`), and answers synchronously (`sync`) or
 * accepts erasures and confirms them later on the callback URL (`async`). `failNext(n, status)` makes the next
 * n requests fail (with a Retry-After header if given; `failNext(0, …)` ends a failure early); `delayNext(ms)`
 * holds the next answer (timeouts).
 */

export interface ReceivedRequest {
  action: string;
  body: Record<string, unknown>;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface HttpReceiver {
  url: string;
  mode: 'sync' | 'async';
  received: ReceivedRequest[];
  /** Requests refused for a bad signature or a stale timestamp. */
  refused: number;
  seed(place: 'profiles' | 'orders', identifier: string, record: Record<string, unknown>): void;
  /** Records still held under any of these identifier values (both places). */
  held(values: string[]): number;
  failNext(n: number, status: number, opts?: { retryAfter?: string }): void;
  delayNext(ms: number): void;
  /** Erase what accepted (async) requests asked for and POST signed confirmations; returns their statuses. */
  confirmPending(opts?: { secret?: string; timestamp?: number }): Promise<number[]>;
  close(): Promise<void>;
}

interface Pending {
  requestId: string;
  callbackUrl: string;
  systemId: string;
  values: string[];
}

const sign = (secret: string, body: string) =>
  `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;

export async function startHttpReceiver(secret: string): Promise<HttpReceiver> {
  const store = { profiles: new Map<string, object[]>(), orders: new Map<string, object[]>() };
  const received: ReceivedRequest[] = [];
  const pending: Pending[] = [];
  let failures: { left: number; status: number; retryAfter?: string | undefined } = { left: 0, status: 500 };
  let delay = 0;
  const state = { refused: 0 };

  const valuesOf = (body: Record<string, unknown>) => {
    const ids = (body.identifiers ?? {}) as Record<string, unknown>;
    return ['e164', 'digits', 'bsuid'].flatMap((k) => (Array.isArray(ids[k]) ? (ids[k] as string[]) : []));
  };
  const recordsOf = (place: keyof typeof store, values: string[]) => [
    ...new Set(values.flatMap((v) => store[place].get(v) ?? [])),
  ];
  const erase = (values: string[]) => {
    const counts: Record<string, number> = {};
    for (const place of ['profiles', 'orders'] as const) {
      counts[place] = recordsOf(place, values).length;
      for (const v of values) store[place].delete(v);
    }
    return counts;
  };

  const receiver: HttpReceiver = {
    url: '',
    mode: 'sync',
    received,
    get refused() {
      return state.refused;
    },
    seed(place, identifier, record) {
      store[place].set(identifier, [...(store[place].get(identifier) ?? []), record]);
    },
    held(values) {
      return recordsOf('profiles', values).length + recordsOf('orders', values).length;
    },
    failNext(n, status, opts) {
      failures = { left: n, status, retryAfter: opts?.retryAfter };
    },
    delayNext(ms) {
      delay = ms;
    },
    async confirmPending(opts = {}) {
      const statuses: number[] = [];
      for (const p of pending.splice(0)) {
        const body = JSON.stringify({
          request_id: p.requestId,
          system_id: p.systemId,
          action: 'erase',
          status: 'done',
          counts: erase(p.values),
          timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
        });
        const res = await fetch(p.callbackUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-flowguard-signature-256': sign(opts.secret ?? secret, body),
          },
          body,
        });
        statuses.push(res.status);
      }
      return statuses;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const send = () => {
          if (!res.destroyed)
            res
              .writeHead(status, { 'content-type': 'application/json', ...headers })
              .end(JSON.stringify(body));
        };
        const wait = delay;
        delay = 0;
        if (wait) setTimeout(send, wait);
        else send();
      };
      const header = req.headers['x-flowguard-signature-256'];
      const expected = Buffer.from(sign(secret, raw.toString('utf8')));
      const got = Buffer.from(typeof header === 'string' ? header : '');
      const ts = Number(req.headers['x-flowguard-timestamp']);
      if (
        got.length !== expected.length ||
        !crypto.timingSafeEqual(got, expected) ||
        !(Math.abs(Date.now() / 1000 - ts) <= 300)
      ) {
        state.refused++;
        return reply(401, { error: 'bad signature' });
      }
      const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      if (body.timestamp !== ts) {
        state.refused++;
        return reply(401, { error: 'timestamp mismatch' });
      }
      const action = String(body.action);
      received.push({ action, body, at: Date.now() });
      if (failures.left > 0) {
        failures.left--;
        const { retryAfter } = failures;
        return reply(failures.status, { error: 'failure' }, retryAfter ? { 'retry-after': retryAfter } : {});
      }
      const values = valuesOf(body);
      const located = () => ({
        counts: {
          profiles: recordsOf('profiles', values).length,
          orders: recordsOf('orders', values).length,
        },
      });
      switch (action) {
        case 'locate':
          return reply(200, located());
        case 'verify':
          return reply(200, { count: located().counts.profiles + located().counts.orders });
        case 'export':
          return reply(200, {
            records: [...recordsOf('profiles', values), ...recordsOf('orders', values)],
          });
        case 'erase':
          if (receiver.mode === 'async' && typeof body.callback_url === 'string') {
            pending.push({
              requestId: String(body.request_id),
              callbackUrl: body.callback_url,
              systemId: String(body.system_id),
              values,
            });
            return reply(202, { status: 'accepted' });
          }
          return reply(200, { status: 'done', counts: erase(values) });
        default:
          return reply(400, { error: 'unknown action' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flowguard`;
  return receiver;
}
