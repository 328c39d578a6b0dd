import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldCipher } from '../../src/lib/crypto/index.js';
import { startNotifyWorker } from '../../src/modules/dsr/index.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  contact,
  delivery,
  flowReplyMessage,
  phoneOf,
  postWebhook,
  type Person,
} from '../helpers/webhook-payloads.js';
import { GRAPH_ENV, cliFor, confirmButton, knownPerson, tap, textMessageTo } from './requests.fixtures.js';

/**
 * `flowguard erase|export|rectify|opt-out|restrict` and `flowguard requests ...`: the same requests as the API,
 * from the operator's shell, through the running server's admin socket (embedded store) or the shared database.
 */
describe.each(storeKinds())('request commands of the CLI on %s', (kind) => {
  let t: TestApp;
  let graph: FakeGraph;
  let cli: Awaited<ReturnType<typeof cliFor>>;
  beforeAll(async () => {
    graph = await startFakeGraph();
    const env = { ...GRAPH_ENV, WHATSAPP_GRAPH_URL: graph.url };
    t = await createTestApp(kind, env);
    await startNotifyWorker(t.ctx);
    cli = await cliFor(t, env);
  });
  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await graph?.close();
  });

  const db = () => t.ctx.database.db;
  type Created = { id: string; reference: string; status: string };
  const json = <T>(out: { stdout: string }) => JSON.parse(out.stdout) as T;

  /** Run a request command that prints {id, reference, status}. */
  async function create(...argv: string[]): Promise<Created> {
    const out = await cli.run(...argv);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const created = json<Created>(out);
    expect(Object.keys(created).sort()).toEqual(['id', 'reference', 'status']);
    return created;
  }

  /** Start a --wait command, let the person confirm, and return what it printed. */
  async function waitWhileConfirmed(p: Person, argv: string[]) {
    const before = await db().selectFrom('privacy_requests').select('id').execute();
    const running = cli.run(...argv, '--wait', '--timeout', '60');
    let reference: string | undefined;
    await expect
      .poll(
        async () => {
          const rows = await db().selectFrom('privacy_requests').select(['id', 'reference']).execute();
          reference = rows.find((r) => !before.some((b) => b.id === r.id))?.reference;
          return reference;
        },
        { timeout: 15_000 },
      )
      .toBeDefined();
    await tap(t, p, await confirmButton(graph, p, reference!));
    return { out: await running, reference: reference! };
  }

  it('records erasure, opt-out, rectification and restriction requests and prints {id, reference, status}', async () => {
    const p = fakePerson();
    const subjectId = await knownPerson(t, p);
    const erase = await create('erase', '--phone', p.e164, '--scope', 'media');
    expect(erase.status).toBe('awaiting_verification');
    const optOut = await create('opt-out', '--user-id', p.bsuid);
    expect(optOut.status).toBe('completed');
    expect(await create('rectify', '--phone', p.e164, '--profile-name', 'New Name')).toMatchObject({
      status: 'awaiting_verification',
    });
    expect(await create('restrict', '--phone', p.e164)).toMatchObject({ status: 'awaiting_verification' });
    const rows = await db()
      .selectFrom('privacy_requests')
      .select(['id', 'channel', 'type', 'scope', 'verification'])
      .where('id', 'in', [erase.id, optOut.id])
      .execute();
    expect(rows.find((r) => r.id === erase.id)).toMatchObject({
      channel: 'cli',
      type: 'erasure',
      scope: 'media',
    });
    expect(rows.find((r) => r.id === optOut.id)).toMatchObject({
      type: 'opt_out',
      verification: 'not_required',
    });
    // The same again joins the open request.
    const again = await cli.run('erase', '--phone', p.e164, '--scope', 'media');
    expect(json<Created>(again).id).toBe(erase.id);
    expect(again.stderr).toContain('joined');
    const audit = await db()
      .selectFrom('audit_log')
      .select(['actor_type', 'event_type'])
      .where('request_id', '=', erase.id)
      .execute();
    expect(audit).toEqual(
      expect.arrayContaining([
        { actor_type: 'cli', event_type: 'request.received' },
        { actor_type: 'cli', event_type: 'request.joined' },
      ]),
    );
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(p)])).toBe(subjectId);

    // Usage errors exit 2; a malformed number exits 1; neither repeats the number.
    for (const argv of [
      ['erase'],
      ['erase', '--phone', p.e164, '--user-id', p.bsuid],
      ['rectify', '--phone', p.e164],
      ['rectify', '--phone', p.e164, '--flow-response-id', crypto.randomUUID()],
      ['export', '--phone', p.e164, '--format', 'csv'],
      ['erase', '--phone', p.e164, '--wait', '--timeout', 'soon'],
    ]) {
      const out = await cli.run(...argv);
      expect(out.code, argv.join(' ')).toBe(2);
      expect(out.stdout).toBe('');
      expect(out.stderr).not.toContain(p.waId);
    }
    const bad = await cli.run('erase', '--phone', `${p.waId}abc`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('VALIDATION_FAILED');
    expect(bad.stderr).not.toContain(p.waId);
  });

  it('export --wait prints the bundle once the person confirms, or one category as CSV', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const { out, reference } = await waitWhileConfirmed(p, [
      'export',
      '--phone',
      p.e164,
      '--format',
      'csv',
      '--category',
      'profile',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const [header, row] = out.stdout.trim().split('\r\n');
    expect(header).toBe('profile_name,marketing_opt_out,processing_restricted,first_seen_at,last_seen_at');
    expect(row?.startsWith(`${p.name},false,false,`)).toBe(true);
    await textMessageTo(graph, p, `${reference} is complete`);

    const request = await db()
      .selectFrom('privacy_requests')
      .select('id')
      .where('reference', '=', reference)
      .executeTakeFirstOrThrow();
    const again = await cli.run('requests', 'export', request.id);
    expect(again.code).toBe(0);
    const bundle = json<{ format: string; request: { reference: string } }>(again);
    expect(bundle).toMatchObject({ format: 'flowguard.access.v1', request: { reference } });
    const audited = await db()
      .selectFrom('audit_log')
      .select(['actor_type', 'data'])
      .where('request_id', '=', request.id)
      .where('event_type', '=', 'export.generated')
      .execute();
    expect(audited.map((a) => [a.actor_type, (a.data as { format: string }).format])).toEqual([
      ['cli', 'csv'],
      ['cli', 'json'],
    ]);
  });

  it('rectify --flow-response-id --set corrects a Flow answer once the person confirms', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const flow = delivery({
      contacts: [contact(p)],
      messages: [
        flowReplyMessage(p, JSON.stringify({ flow_token: 'booking-1', city: 'Old Town', seats: 2 })),
      ],
    });
    expect((await postWebhook(t, flow)).statusCode).toBe(200);
    const subjectId = (await t.ctx.subjects.find(db(), 'default', [phoneOf(p)]))!;
    const answer = await db()
      .selectFrom('flow_responses')
      .select(['id', 'response'])
      .where('subject_id', '=', subjectId)
      .executeTakeFirstOrThrow();
    const { out } = await waitWhileConfirmed(p, [
      'rectify',
      '--phone',
      p.e164,
      '--flow-response-id',
      answer.id,
      '--set',
      'city=New Town',
      '--set',
      'note=a=b',
    ]);
    expect(out.code).toBe(0);
    expect(json(out)).toMatchObject({
      type: 'rectification',
      status: 'completed',
      systems: [{ id: 'flowguard', counts: { flow_response_fields: 2 } }],
    });
    const cipher = (await t.ctx.subjectKeys.cipher(db(), subjectId)) as FieldCipher;
    const now = await db()
      .selectFrom('flow_responses')
      .select('response')
      .where('id', '=', answer.id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(cipher.decrypt(now.response, 'flow_responses', 'response', answer.id))).toEqual({
      flow_token: 'booking-1',
      city: 'New Town',
      seats: 2,
      note: 'a=b',
    });
  });

  it('shows, extends, denies and proves requests, and gives up waiting after --timeout', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const timedOut = await cli.run('erase', '--phone', p.e164, '--wait', '--timeout', '1');
    expect(timedOut.code).toBe(4);
    const view = json<{ id: string; status: string; due_at: string }>(timedOut);
    expect(view.status).toBe('awaiting_verification');
    expect(timedOut.stderr).toContain('still awaiting_verification');

    const show = await cli.run('requests', 'show', view.id);
    expect(show.code).toBe(0);
    expect(json(show)).toMatchObject({ id: view.id, type: 'erasure', channel: 'cli', systems: [] });
    expect((await cli.run('requests', 'show', view.id, '--tenant', 'nope')).code).toBe(1);
    const missing = await cli.run('requests', 'show', crypto.randomUUID());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');

    const ext = await cli.run(
      'requests',
      'extend',
      view.id,
      '--days',
      '7',
      '--reason',
      'awaiting_information',
    );
    expect(ext.stderr).toBe('');
    expect(json<{ due_at: string }>(ext).due_at).toBe(
      new Date(new Date(view.due_at).getTime() + 7 * 86_400_000).toISOString(),
    );
    expect(
      (await cli.run('requests', 'extend', view.id, '--days', 'seven', '--reason', 'complexity')).code,
    ).toBe(2);
    expect((await cli.run('requests', 'extend', view.id, '--days', '7', '--reason', 'bored')).code).toBe(1);
    await textMessageTo(graph, p, 'waiting for information');

    const deny = await cli.run('requests', 'deny', view.id, '--reason', 'identity_not_verified');
    expect(json(deny)).toMatchObject({ status: 'denied', deny_reason: 'identity_not_verified' });

    const proof = await cli.run('requests', 'proof', view.id);
    expect(proof.code).toBe(0);
    expect(json(proof)).toMatchObject({
      request: {
        id: view.id,
        status: 'denied',
        deny_reason: 'identity_not_verified',
        extension_reason: 'awaiting_information',
      },
      audit: { chain: { verified: true } },
    });
    for (const secret of [p.waId, p.name, p.bsuid]) expect(proof.stdout).not.toContain(secret);

    const list = await cli.run('requests', 'list', '--status', 'denied');
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toContain(view.id);
    expect((await cli.run('requests', 'list', '--status', 'gone')).code).toBe(1);
  });
});
