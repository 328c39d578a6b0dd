import crypto from 'node:crypto';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import { createDsrDeps, createRequest } from '../../src/modules/dsr/index.js';
import { sequentialRun } from '../harness/load.js';
import { benchPerson, phoneOf } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { startServer } from '../harness/server.js';
import { createStore, withContext } from '../harness/store.js';
import type { Point } from '../harness/types.js';
import { storeKinds, type Scenario, type ScenarioOutput } from './context.js';

const MESSAGES = 1000;

/**
 * The access export of one person with 1,000 messages (content kept, encrypted: the heavier case of a tenant
 * that stores message content) and 10 flow responses: GET /v1/requests/:id/export of a completed access
 * request, JSON bundle, one download at a time, through the running server.
 */
export const accessExportScenario: Scenario = {
  id: 'access-export',
  title: `Access export of a person with ${MESSAGES.toLocaleString('en-US')} messages`,
  async run(ctx): Promise<ScenarioOutput> {
    const kinds = storeKinds(ctx);
    const count = ctx.tiny ? 10 : 200;
    const points: Point[] = [];
    let bytes = 0;
    for (const kind of kinds) {
      const store = await createStore(kind);
      try {
        const { apiKey, requestId } = await withContext(store, async (app) => {
          const tenant = await app.tenants.getDefault();
          const db = app.database.db;
          const person = benchPerson();
          await db.transaction().execute(async (tx) => {
            const s = await app.subjects.findOrCreate(tx, tenant.id, [
              phoneOf(person),
              { kind: 'bsuid', value: person.bsuid },
            ]);
            const rows = Array.from({ length: MESSAGES }, (_, i) => {
              const id = crypto.randomUUID();
              return {
                id,
                tenant_id: tenant.id,
                subject_id: s.id,
                event_key: crypto.randomBytes(32).toString('hex'),
                direction: i % 2 ? ('outbound' as const) : ('inbound' as const),
                type: 'text',
                sent_at: new Date(Date.now() - (MESSAGES - i) * 60_000),
                content: s.cipher.encrypt(
                  `Message ${i}: could I move my booking to Friday at 7?`,
                  'messages',
                  'content',
                  id,
                ),
              };
            });
            for (let i = 0; i < rows.length; i += 250)
              await tx
                .insertInto('messages')
                .values(rows.slice(i, i + 250))
                .execute();
            for (let i = 0; i < 10; i++) {
              const id = crypto.randomUUID();
              await tx
                .insertInto('flow_responses')
                .values({
                  id,
                  tenant_id: tenant.id,
                  subject_id: s.id,
                  flow_token_id: null,
                  response: s.cipher.encrypt(
                    JSON.stringify({ screen: 'BOOKING', party_size: String(i + 1) }),
                    'flow_responses',
                    'response',
                    id,
                  ),
                })
                .execute();
            }
          });
          const created = await db.transaction().execute((tx) =>
            createRequest(tx, createDsrDeps(app), {
              tenant,
              type: 'access',
              channel: 'flow',
              subject: { identity: phoneOf(person) },
              verification: 'flow_token',
              actor: { type: 'subject' },
            }),
          );
          if (created.status !== 'completed') throw new Error(`access request ended ${created.status}`);
          const key = await createApiKey(db, { tenantId: tenant.id, name: 'bench' });
          return { apiKey: key.key, requestId: created.id };
        });
        const server = await startServer(store);
        try {
          const download = async () => {
            const res = await fetch(`${server.baseUrl}/v1/requests/${requestId}/export`, {
              headers: { authorization: `Bearer ${apiKey}` },
            });
            const body = await res.text();
            if (res.status !== 200) throw new Error(`export answered ${res.status}: ${server.errors()}`);
            return body;
          };
          const first = JSON.parse(await download()) as { categories: { id: string; records: unknown[] }[] };
          const held = first.categories.find((c) => c.id === 'messages')?.records.length;
          if (held !== MESSAGES) throw new Error(`export holds ${held} messages, expected ${MESSAGES}`);
          bytes = Buffer.byteLength(JSON.stringify(first));
          const runs = [];
          for (let r = 0; r < ctx.runs; r++)
            runs.push(await sequentialRun(count, async () => void (await download()), server.pid));
          const point = makePoint(
            `export, ${MESSAGES} messages (${kind})`,
            { store: kind, messages: MESSAGES },
            runs,
          );
          ctx.log(`access-export/${kind}: p50 ${point.median.p50Ms} ms, p99 ${point.median.p99Ms} ms`);
          points.push(point);
        } finally {
          await server.stop();
        }
      } finally {
        await store.drop();
      }
    }
    return {
      points,
      notes: [
        `${count} downloads one after the other per run, each decrypting ${MESSAGES} messages and 10 flow responses into a ${Math.round(bytes / 1024)} KB JSON bundle and writing an audit event.`,
      ],
    };
  },
};
