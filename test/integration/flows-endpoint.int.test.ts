import crypto from 'node:crypto';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFlowRequest } from '../../src/lib/crypto/flow-crypto.js';
import { createFlowTokens } from '../../src/modules/flows/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { callFlow, issueToken, postRaw, publicKeyOf, signed } from './flows-endpoint.client.js';

const ACME_SECRET = 'acme-app-secret-0123456789';

/** The Flows key unwraps counted so far, by where they ran (from /metrics). */
async function unwraps(t: TestApp): Promise<{ worker: number; event_loop: number }> {
  const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const count = (on: string) =>
    Number(
      new RegExp(`^flowguard_flows_key_unwraps_total\\{on="${on}"\\} (\\d+)$`, 'm').exec(body)?.[1] ?? 0,
    );
  return { worker: count('worker'), event_loop: count('event_loop') };
}

describe.each(storeKinds())('Flows data endpoint on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      {
        id: 'acme',
        phoneNumberId: '200000000000002',
        appSecret: ACME_SECRET,
        flowsPrivateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    );
    await t.ctx.tenants.reload();
  });
  afterAll(async () => t?.close());

  it('answers the health check with an encrypted {data:{status:"active"}} as base64 text', async () => {
    const before = await unwraps(t);
    const res = await callFlow(t, { version: '3.0', action: 'ping' });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain/);
    expect(res.raw).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(res.answer).toEqual({ data: { status: 'active' } });
    // A lone call unwraps its key on the event loop: handing it to a thread would only add the thread's wake-up.
    expect(await unwraps(t)).toEqual({ worker: before.worker, event_loop: before.event_loop + 1 });
  });

  it('answers many calls at once, each tenant under its own key, a call under the wrong key with 421', async () => {
    // Concurrent calls unwrap their keys on worker threads (rsa-pool.ts); a lone call does it inline.
    const acmeKey = await publicKeyOf(t, 'acme');
    const calls = Array.from({ length: 40 }, (_, i) => {
      const payload = { version: '3.0', action: 'ping' };
      if (i % 10 === 9) return { expect: 421, call: callFlow(t, payload, { publicKey: acmeKey }) };
      return i % 2 === 0
        ? { expect: 200, call: callFlow(t, payload) }
        : {
            expect: 200,
            call: callFlow(t, payload, {
              url: '/flows/endpoint/acme',
              appSecret: ACME_SECRET,
              publicKey: acmeKey,
            }),
          };
    });
    const before = await unwraps(t);
    const results = await Promise.all(calls.map((c) => c.call));
    expect(results.map((r) => r.status)).toEqual(calls.map((c) => c.expect));
    for (const r of results.filter((x) => x.status === 200)) {
      expect(r.answer).toEqual({ data: { status: 'active' } });
    }
    // Pings never wait for the store, so only calls arriving together show that others wait: those unwrap on
    // the worker threads (none on a one-core machine).
    const after = await unwraps(t);
    const onWorkers = after.worker - before.worker;
    expect(onWorkers + after.event_loop - before.event_loop).toBe(calls.length);
    if (os.availableParallelism() > 1) expect(onWorkers).toBeGreaterThanOrEqual(calls.length / 2);
    else expect(onWorkers).toBe(0);
  });

  it('opens the Privacy Center on PRIVACY_HOME with what is held about exactly this person', async () => {
    const p = fakePerson();
    const tenant = await t.ctx.tenants.getDefault();
    const { token, subjectId } = await issueToken(t, { kind: 'phone', value: p.e164 });
    const db = t.ctx.database.db;
    await db.transaction().execute(async (tx) => {
      const s = await t.ctx.subjects.findOrCreate(tx, tenant.id, [
        { kind: 'phone', value: p.e164 },
        { kind: 'bsuid', value: p.bsuid },
      ]);
      expect(s.id).toBe(subjectId);
      await tx
        .updateTable('subjects')
        .set({ profile_name: s.cipher.encrypt(p.name, 'subjects', 'profile_name', s.id) })
        .where('id', '=', s.id)
        .execute();
      for (const n of [1, 2]) {
        await tx
          .insertInto('messages')
          .values({
            id: crypto.randomUUID(),
            tenant_id: tenant.id,
            subject_id: s.id,
            event_key: `test-${crypto.randomUUID()}-${n}`,
            direction: 'inbound',
            type: 'text',
            sent_at: new Date(),
            content: null,
          })
          .execute();
      }
      const frId = crypto.randomUUID();
      await tx
        .insertInto('flow_responses')
        .values({
          id: frId,
          tenant_id: tenant.id,
          subject_id: s.id,
          flow_token_id: null,
          response: s.cipher.encrypt('{}', 'flow_responses', 'response', frId),
        })
        .execute();
      const mId = crypto.randomUUID();
      await tx
        .insertInto('media')
        .values({
          id: mId,
          tenant_id: tenant.id,
          subject_id: s.id,
          media_ref: s.cipher.encrypt('12345', 'media', 'media_ref', mId),
          mime_type: 'image/jpeg',
        })
        .execute();
    });

    const init = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: token });
    expect(init.status).toBe(200);
    expect(init.answer).toMatchObject({
      screen: 'PRIVACY_HOME',
      data: { messages: 2, flow_responses: 1, media: 1, identities: 2, has_profile_name: true },
    });
    const summary = (init.answer?.data as { summary: string }).summary;
    expect(summary).toContain('2 messages');
    expect(summary).not.toContain(p.name);

    const back = await callFlow(t, {
      version: '3.0',
      action: 'BACK',
      screen: 'CONFIRM_DELETE',
      flow_token: token,
    });
    expect(back.answer).toMatchObject({ screen: 'PRIVACY_HOME', data: { messages: 2 } });

    // Someone else's token shows only their own (empty) record.
    const other = await issueToken(t, { kind: 'bsuid', value: fakePerson().bsuid });
    const theirs = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: other.token });
    expect(theirs.answer).toMatchObject({
      screen: 'PRIVACY_HOME',
      data: { messages: 0, flow_responses: 0, media: 0, identities: 1, has_profile_name: false },
    });
    expect(t.logs.text()).not.toContain(token);
    expect(t.logs.text()).not.toContain(p.waId);
  });

  it("opens the Privacy Center for many people at once, each on their own record and nobody else's", async () => {
    // Calls arriving together read their tokens with one statement (flow-tokens.ts): each must still get only its own.
    const tenant = await t.ctx.tenants.getDefault();
    const people = await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        const issued = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
        if (n > 0) {
          await t.ctx.database.db
            .insertInto('messages')
            .values(
              Array.from({ length: n }, (_, i) => ({
                id: crypto.randomUUID(),
                tenant_id: tenant.id,
                subject_id: issued.subjectId,
                event_key: `test-${crypto.randomUUID()}-${i}`,
                direction: 'inbound',
                type: 'text',
                sent_at: new Date(),
                content: null,
              })),
            )
            .execute();
        }
        return { token: issued.token, messages: n };
      }),
    );
    const acme = await issueToken(t, { kind: 'phone', value: fakePerson().e164 }, { tenantId: 'acme' });
    const init = (flow_token: string) => callFlow(t, { version: '3.0', action: 'INIT', flow_token });
    const [answers, foreign, unknown, again] = await Promise.all([
      Promise.all(people.map((p) => init(p.token))),
      init(acme.token),
      init(crypto.randomBytes(32).toString('base64url')),
      init(people[5]!.token),
    ]);
    expect(answers.map((a) => [a.status, (a.answer?.data as { messages?: number })?.messages])).toEqual(
      people.map((p) => [200, p.messages]),
    );
    expect(again.answer).toMatchObject({ screen: 'PRIVACY_HOME', data: { messages: 5 } });
    expect([foreign.status, unknown.status]).toEqual([427, 427]);
  });

  it('answers an unknown screen or action with an encrypted snackbar, never a 5xx', async () => {
    const { token } = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
    const exchange = await callFlow(t, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'NO_SUCH_SCREEN',
      data: { anything: 1 },
      flow_token: token,
    });
    expect(exchange.status).toBe(200);
    expect(exchange.answer).toMatchObject({
      screen: 'NO_SUCH_SCREEN',
      data: { error_message: expect.any(String) },
    });
    const odd = await callFlow(t, { version: '3.0', action: 'navigate', flow_token: token });
    expect(odd.status).toBe(200);
    expect(odd.answer).toMatchObject({ data: { error_message: expect.any(String) } });
    const noAction = await callFlow(t, { version: '3.0' });
    expect(noAction.status).toBe(200);
  });

  it('acknowledges error notifications', async () => {
    const { token } = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
    const res = await callFlow(t, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'PRIVACY_HOME',
      flow_token: token,
      data: { error: 'INVALID_SCREEN_TRANSITION', error_message: 'transition not allowed' },
    });
    expect(res.status).toBe(200);
    expect(res.answer).toEqual({ data: { acknowledged: true } });
  });

  it('refuses a missing or bad signature with 432 before trying to decrypt', async () => {
    const ping = { version: '3.0', action: 'ping' };
    expect((await callFlow(t, ping, { signature: null })).status).toBe(432);
    expect((await callFlow(t, ping, { appSecret: 'another-app-secret-000' })).status).toBe(432);
    expect((await callFlow(t, ping, { signature: 'sha256=abc' })).status).toBe(432);
    expect((await callFlow(t, ping, { signature: `sha1=${'0'.repeat(40)}` })).status).toBe(432);
    // A body that could never be decrypted still gets 432 first: the signature is checked before anything else.
    const garbage = crypto.randomBytes(64);
    expect((await postRaw(t, garbage, { signature: null })).status).toBe(432);
    expect((await postRaw(t, 'not json', { signature: signed('not json', 'wrong-secret-123') })).status).toBe(
      432,
    );
    // acme's secret does not open the default tenant, and the default tenant's does not open acme.
    const acmeKey = await publicKeyOf(t, 'acme');
    expect((await callFlow(t, ping, { url: '/flows/endpoint/acme', publicKey: acmeKey })).status).toBe(432);
    const acme = await callFlow(t, ping, {
      url: '/flows/endpoint/acme',
      publicKey: acmeKey,
      appSecret: ACME_SECRET,
    });
    expect(acme.answer).toEqual({ data: { status: 'active' } });
  });

  it('answers 421 to anything it cannot decrypt', async () => {
    const pub = await publicKeyOf(t);
    const enc = encryptFlowRequest({ version: '3.0', action: 'ping' }, pub);
    const data = Buffer.from(enc.body.encrypted_flow_data, 'base64');
    data[data.length - 1]! ^= 0x01;
    const badTag = JSON.stringify({ ...enc.body, encrypted_flow_data: data.toString('base64') });
    const wrongKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const cases: (string | Buffer)[] = [
      badTag,
      JSON.stringify(encryptFlowRequest({ action: 'ping' }, wrongKey).body),
      JSON.stringify({ ...enc.body, initial_vector: Buffer.alloc(12).toString('base64') }),
      JSON.stringify({ encrypted_flow_data: 'x' }),
      JSON.stringify([1, 2, 3]),
      '"a string"',
      'not json at all',
      crypto.randomBytes(300),
      '',
    ];
    for (const body of cases) {
      const res = await postRaw(t, body, { signature: signed(body) });
      expect(res.status).toBe(421);
    }
    const text = await postRaw(t, 'plain', { signature: signed('plain'), contentType: 'text/plain' });
    expect(text.status).toBe(421);
  });

  it("answers 427 with a plain JSON error_msg for unknown, expired, used and other tenants' tokens", async () => {
    const db = t.ctx.database.db;
    const call = (flow_token: unknown) => callFlow(t, { version: '3.0', action: 'INIT', flow_token });
    const unknown = await call(crypto.randomBytes(32).toString('base64url'));
    expect(unknown.status).toBe(427);
    expect(unknown.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(unknown.raw)).toEqual({ error_msg: expect.any(String) });
    expect((await call(undefined)).status).toBe(427);
    expect((await call(12345)).status).toBe(427);

    const expired = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
    expect((await call(expired.token)).status).toBe(200);
    await db
      .updateTable('flow_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expired.tokenId)
      .execute();
    expect((await call(expired.token)).status).toBe(427);

    const used = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
    const tokens = createFlowTokens({
      db,
      subjects: t.ctx.subjects,
      clock: t.ctx.clock,
      ttlSeconds: 3600,
    });
    await tokens.consume(db, used.tokenId);
    const usedRes = await callFlow(t, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'X',
      flow_token: used.token,
    });
    expect(usedRes.status).toBe(427);

    const acmeToken = await issueToken(t, { kind: 'phone', value: fakePerson().e164 }, { tenantId: 'acme' });
    expect((await call(acmeToken.token)).status).toBe(427);
    const atAcme = await callFlow(
      t,
      { version: '3.0', action: 'INIT', flow_token: acmeToken.token },
      { url: '/flows/endpoint/acme', publicKey: await publicKeyOf(t, 'acme'), appSecret: ACME_SECRET },
    );
    expect(atAcme.answer).toMatchObject({ screen: 'PRIVACY_HOME' });
  });

  it('routes by tenant id and records latency per action and status', async () => {
    expect((await postRaw(t, '{}', { url: '/flows/endpoint/nobody', signature: signed('{}') })).status).toBe(
      404,
    );
    expect(
      (await postRaw(t, '{}', { url: '/flows/endpoint/NOT..valid', signature: signed('{}') })).status,
    ).toBe(404);
    const viaId = await callFlow(t, { version: '3.0', action: 'ping' }, { url: '/flows/endpoint/default' });
    expect(viaId.answer).toEqual({ data: { status: 'active' } });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /flowguard_flows_endpoint_duration_seconds_count\{action="ping",status="200"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /flowguard_flows_endpoint_duration_seconds_count\{action="undecrypted",status="432"\}/,
    );
    expect(metrics).toMatch(/flowguard_flows_endpoint_duration_seconds_count\{action="INIT",status="427"\}/);
  });
});
