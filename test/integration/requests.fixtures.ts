import fs from 'node:fs';
import { expect } from 'vitest';
import { listenAdminSocket } from '../../src/cli/admin-socket.js';
import { lockFilePath } from '../../src/lib/db/database.js';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import { runCli } from '../helpers/cli.js';
import type { FakeGraph, SentMessage } from '../helpers/fake-graph.js';
import {
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  type TestApp,
} from '../helpers/test-app.js';
import {
  contact,
  delivery,
  phoneOf,
  postWebhook,
  textMessage,
  unixNow,
  wamidFor,
  type Person,
} from '../helpers/webhook-payloads.js';

/** Shared steps of the request API, CLI and verification tests (real app, fake Graph API only). */

export const GRAPH_ENV = { WHATSAPP_ACCESS_TOKEN: 'test-access-token' };

/** The person writes to the business once, so flowguard knows them. Returns their subject id. */
export async function knownPerson(t: TestApp, p: Person): Promise<string> {
  const res = await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] }));
  expect(res.statusCode).toBe(200);
  const id = await t.ctx.subjects.find(t.ctx.database.db, 'default', [phoneOf(p)]);
  expect(id).toBeDefined();
  return id!;
}

/** The person taps a reply button (Meta signs the webhook; `from` is whoever tapped). */
export function buttonReply(p: Person, buttonId: string) {
  return {
    from: p.waId,
    id: wamidFor(p),
    timestamp: unixNow(),
    type: 'interactive',
    context: { from: '15550001234', id: 'wamid.CONFIRMREQUEST' },
    interactive: { type: 'button_reply', button_reply: { id: buttonId, title: 'Confirm' } },
  };
}

export async function tap(t: TestApp, p: Person, buttonId: string): Promise<void> {
  const res = await postWebhook(
    t,
    delivery({ contacts: [contact(p)], messages: [buttonReply(p, buttonId)] }),
  );
  expect(res.statusCode).toBe(200);
}

export const sentTo = (graph: FakeGraph, p: Person): SentMessage[] =>
  graph.sent.filter((m) => m.body.to === p.waId);

export const textOf = (m: SentMessage): string => {
  const b = m.body as { text?: { body?: string }; interactive?: { body?: { text?: string } } };
  return b.text?.body ?? b.interactive?.body?.text ?? '';
};

/** The confirmation button the notify worker sent to the person about this request reference. */
export async function confirmButton(graph: FakeGraph, p: Person, reference: string): Promise<string> {
  let id: string | undefined;
  await expect
    .poll(
      () => {
        const m = sentTo(graph, p).find(
          (x) => x.body.type === 'interactive' && textOf(x).includes(reference),
        );
        const buttons = (m?.body.interactive as { action?: { buttons?: { reply: { id: string } }[] } })
          ?.action?.buttons;
        id = buttons?.[0]?.reply.id;
        return id;
      },
      { timeout: 15_000 },
    )
    .toBeDefined();
  return id!;
}

/** A message to the person whose text contains `needle`. */
export async function textMessageTo(graph: FakeGraph, p: Person, needle: string): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(
      () => {
        found = sentTo(graph, p)
          .map(textOf)
          .find((x) => x.includes(needle));
        return found;
      },
      { timeout: 15_000 },
    )
    .toBeDefined();
  return found!;
}

export async function apiKey(t: TestApp, role: 'service' | 'admin' = 'service', tenantId = 'default') {
  return (await createApiKey(t.ctx.database.db, { tenantId, name: `test ${role}`, role })).key;
}

export function api(t: TestApp, key: string) {
  const headers = { authorization: `Bearer ${key}` };
  return {
    post: (url: string, body?: unknown) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    get: (url: string) => t.app.inject({ method: 'GET', url, headers }),
  };
}

/**
 * The CLI pointed at the test app's store, as it is while `serve` runs: with the embedded store the commands go
 * through the admin socket to this very context (the store lock names a live process other than the CLI's);
 * with PostgreSQL the CLI opens the shared database itself. `env` is what the test app was created with.
 */
export async function cliFor(t: TestApp, env: Record<string, string> = {}) {
  const cliEnv: Record<string, string | undefined> = {
    FLOWGUARD_DATA_DIR: t.dataDir,
    FLOWGUARD_MASTER_KEY: t.config.masterKey!.toString('base64'),
    DATABASE_URL: t.databaseUrl,
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
    FLOWGUARD_LOG_LEVEL: 'warn',
    ...env,
  };
  let closeSocket: (() => Promise<void>) | undefined;
  if (t.kind === 'pglite') {
    fs.writeFileSync(lockFilePath(t.dataDir), String(process.ppid));
    closeSocket = await listenAdminSocket(t.ctx);
  }
  return {
    run: (...argv: string[]) => runCli(argv, cliEnv, { cwd: t.dataDir }),
    async close() {
      await closeSocket?.();
      fs.rmSync(lockFilePath(t.dataDir), { force: true });
    },
  };
}
