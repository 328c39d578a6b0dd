import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Meta's Graph API, written from its documented contract for
 * `POST /{version}/{phone_number_id}/messages`: bearer token required; the answer is
 * `{messaging_product, contacts:[{input, wa_id}], messages:[{id}]}`; errors are `{error:{message, type, code}}`.
 */
export interface SentMessage {
  phoneNumberId: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface FakeGraph {
  url: string;
  sent: SentMessage[];
  /** Make the next N sends fail with this status and Graph error code. */
  failNext(n: number, status: number, code: number): void;
  close(): Promise<void>;
}

export async function startFakeGraph(
  version = 'v23.0',
  accessToken = 'test-access-token',
): Promise<FakeGraph> {
  const sent: SentMessage[] = [];
  let failures: { left: number; status: number; code: number } | undefined;
  let counter = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const m = new RegExp(`^/${version}/(\\d+)/messages$`).exec(req.url ?? '');
      if (req.method !== 'POST' || !m)
        return reply(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
      if (req.headers.authorization !== `Bearer ${accessToken}`) {
        return reply(401, {
          error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 },
        });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reply(400, { error: { message: 'Invalid JSON', type: 'OAuthException', code: 100 } });
      }
      if (body.messaging_product !== 'whatsapp' || (!body.to && !body.recipient)) {
        return reply(400, { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100 } });
      }
      if (failures && failures.left > 0) {
        failures.left--;
        return reply(failures.status, {
          error: { message: 'Failure', type: 'OAuthException', code: failures.code },
        });
      }
      sent.push({ phoneNumberId: m[1]!, authorization: req.headers.authorization, body });
      counter++;
      return reply(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: String(body.to ?? body.recipient), wa_id: String(body.to ?? '') }],
        messages: [{ id: `wamid.FAKE${counter}` }],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${version}`,
    sent,
    failNext(n, status, code) {
      failures = { left: n, status, code };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
