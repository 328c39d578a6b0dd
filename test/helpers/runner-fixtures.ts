import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { PrivacyRequestType } from '../../src/lib/db/schema.js';
import {
  createDsrDeps,
  createRequest,
  getRequestView,
  type RequestView,
} from '../../src/modules/dsr/index.js';
import type { TestApp } from './test-app.js';

/**
 * Steps shared by the tests of the data-map task runner, the dead-letter queue, alerts and `datamap check`:
 * a Slack-compatible alert receiver, a verified request for a fake person, and polling a request's view.
 */

/** Polling options for what the queue worker does in the background (a loaded machine can take seconds). */
export const SOON = { timeout: 15_000, interval: 50 };

/** A local stand-in for a Slack incoming webhook: records every JSON body posted to it. */
export interface AlertReceiver {
  url: string;
  received: { text: string }[];
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const received: { text: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } catch {
        res.writeHead(400).end('invalid_payload');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/alerts`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port nothing listens on right now (for a test app that must listen where its config says). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Write a flowguard.yaml into dir and return its path (for FLOWGUARD_CONFIG). */
export function writeConfig(dir: string, yaml: string): string {
  const file = path.join(dir, 'flowguard.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** A request the person verified (as from the Privacy Center Flow): it executes at once and fans out. */
export async function verifiedRequest(
  t: TestApp,
  type: PrivacyRequestType,
  person: { e164: string },
): Promise<{ id: string; reference: string; status: string }> {
  const deps = createDsrDeps(t.ctx);
  const tenant = await t.ctx.tenants.get('default');
  return t.ctx.database.db.transaction().execute((tx) =>
    createRequest(tx, deps, {
      tenant,
      type,
      channel: 'flow',
      subject: { identity: { kind: 'phone', value: person.e164 } },
      verification: 'flow_token',
      actor: { type: 'subject' },
    }),
  );
}

export function requestView(t: TestApp, id: string): Promise<RequestView> {
  return getRequestView(t.ctx.database.db, undefined, id, t.ctx.clock());
}

export function systemOf(view: RequestView, systemId: string): RequestView['systems'][number] {
  const s = view.systems.find((x) => x.id === systemId);
  if (!s) throw new Error(`no task for ${systemId}`);
  return s;
}

/** Wait until the request reaches `status` (the queue worker runs the tasks meanwhile). */
export async function untilStatus(t: TestApp, id: string, status: string, timeout = 30_000) {
  await expect.poll(async () => (await requestView(t, id)).status, { timeout, interval: 100 }).toBe(status);
  return requestView(t, id);
}
