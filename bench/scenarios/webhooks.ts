import crypto from 'node:crypto';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import { loadRun, type PreparedRequest } from '../harness/load.js';
import { benchPerson, type BenchPerson } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { profiledRun } from '../harness/profiled.js';
import { startServer } from '../harness/server.js';
import {
  BENCH_APP_SECRET,
  BENCH_PHONE_NUMBER_ID,
  createStore,
  withContext,
  type BenchStore,
  type StoreKind,
} from '../harness/store.js';
import { describeTiming, timedDb } from '../harness/sql-timing.js';
import { createDsrDeps, createPrivacyIntents } from '../../src/modules/dsr/index.js';
import { createForwarder } from '../../src/modules/forwarding/index.js';
import { createWebhookIngest } from '../../src/modules/whatsapp/ingest-webhook.js';
import { parseWebhook } from '../../src/modules/whatsapp/parse-webhook.js';
import type { Point } from '../harness/types.js';
import { seedBulk } from './erasure-seed.js';

const PREFILL = 100_000;
import { goal, storeKinds, type Scenario, type ScenarioContext, type ScenarioOutput } from './context.js';

/** One signed Cloud API delivery: a text message (unique wamid) from a new person, with their contact card. */
export function inboundText(p: BenchPerson): PreparedRequest {
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '100000000000900',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001234', phone_number_id: BENCH_PHONE_NUMBER_ID },
              contacts: [{ profile: { name: p.name }, wa_id: p.waId }],
              messages: [
                {
                  from: p.waId,
                  id: `wamid.HBgL${p.waId}FQIAEhgU${crypto.randomBytes(10).toString('hex').toUpperCase()}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: 'Hello, I would like to book a table for two.' },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), BENCH_APP_SECRET),
    },
  };
}

/**
 * Where one delivery's time goes on PostgreSQL: DIAGNOSED deliveries ingested in the harness, one at a time,
 * through the same use case the route calls, on a statement-timing connection.
 */
const DIAGNOSED = 200;

async function diagnoseIngest(store: BenchStore): Promise<string> {
  return withContext(store, async (app) => {
    const timed = timedDb(store.databaseUrl!);
    try {
      const ingest = createWebhookIngest({
        ...app,
        database: { ...app.database, db: timed.db },
        forwarder: createForwarder(app),
        privacy: createPrivacyIntents(createDsrDeps(app)),
      });
      const tenant = await app.tenants.getDefault();
      const t0 = Date.now();
      for (let i = 0; i < DIAGNOSED; i++) {
        const parsed = parseWebhook(JSON.parse(inboundText(benchPerson()).body), { withSource: true });
        const report = await ingest.ingest([tenant], parsed);
        if (report.ingested < 1) throw new Error('diagnosis: delivery not ingested');
      }
      return describeTiming(
        timed,
        DIAGNOSED,
        'one delivery from a new person, ingested alone (PostgreSQL)',
        (Date.now() - t0) / DIAGNOSED,
      );
    } finally {
      await timed.close();
    }
  });
}

const deliveries = (n: number) => Array.from({ length: n }, () => inboundText(benchPerson()));

async function checkOnce(baseUrl: string): Promise<void> {
  const r = deliveries(1)[0]!;
  const res = await fetch(`${baseUrl}/webhooks/whatsapp`, {
    method: 'POST',
    headers: r.headers,
    body: r.body,
  });
  const answer = (await res.json()) as { events?: { ingested?: number } };
  if (res.status !== 200 || !answer.events?.ingested) {
    throw new Error(`webhook: expected an ingested event, got ${res.status}`);
  }
}

/** A store already holding this many people (seeded like the erasure scenario's), or an empty one. */
async function measureStore(
  ctx: ScenarioContext,
  kind: StoreKind,
  opts: { profile?: boolean; prefill?: number; connections?: number[]; diagnose?: boolean } = {},
) {
  const { profile = false, prefill = 0, connections: levels = [8, 32] } = opts;
  const store = await createStore(kind);
  const points: Point[] = [];
  const notes: string[] = [];
  const amount = ctx.tiny ? 20 : kind === 'postgres' ? (prefill ? 2000 : 6000) : 1000;
  const where = prefill ? `${kind}, ${prefill.toLocaleString('en-US')} people stored` : kind;
  try {
    if (opts.diagnose) notes.push(await diagnoseIngest(store));
    if (prefill) {
      const seconds = await withContext(store, async (app) =>
        seedBulk(app, (await app.tenants.getDefault()).id, 0, prefill, ctx.log),
      );
      ctx.log(`webhooks/${where}: seeded in ${Math.round(seconds)} s`);
    }
    if (profile) {
      notes.push(
        ...(await profiledRun(store, `webhook ingest on ${kind}, c=32`, (server) =>
          loadRun({
            baseUrl: server.baseUrl,
            path: '/webhooks/whatsapp',
            serverPid: server.pid,
            connections: 32,
            requests: deliveries(amount),
          }),
        )),
      );
      return { points, notes };
    }
    const server = await startServer(store);
    try {
      await checkOnce(server.baseUrl);
      const common = { baseUrl: server.baseUrl, path: '/webhooks/whatsapp', serverPid: server.pid };
      for (const connections of levels) {
        if (!ctx.tiny) await loadRun({ ...common, connections, requests: deliveries(Math.min(amount, 500)) }); // warm-up
        const runs = [];
        for (let r = 0; r < ctx.runs; r++) {
          runs.push(await loadRun({ ...common, connections, requests: deliveries(amount) }));
        }
        const point = makePoint(
          `ingest c=${connections} (${where})`,
          { store: kind, connections, stored: prefill },
          runs,
        );
        ctx.log(
          `webhooks/${where} c=${connections}: ${point.median.perSecond} req/s, p99 ${point.median.p99Ms} ms`,
        );
        points.push(point);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await store.drop();
  }
  return { points, notes };
}

export const webhooksScenario: Scenario = {
  id: 'webhooks',
  title: 'Webhook ingest: signed inbound text messages, each from a new person',
  async run(ctx): Promise<ScenarioOutput> {
    const kinds = storeKinds(ctx);
    const points: Point[] = [];
    const notes = [
      'Each delivery is one signed `messages` change with a contact card and a text message from a person seen for the first time: signature check, event de-duplication, a new subject with its own data key, an encrypted identity and profile name, and the message metadata, in one transaction.',
    ];
    for (const kind of kinds) {
      const m = await measureStore(ctx, kind, { diagnose: kind === 'postgres' });
      points.push(...m.points);
      notes.push(...m.notes);
    }
    // Production stores are not empty: every new person is looked up among those already there.
    const prefilled = ctx.tiny ? 300 : PREFILL;
    points.push(
      ...(await measureStore(ctx, kinds[kinds.length - 1]!, { prefill: prefilled, connections: [32] }))
        .points,
    );
    notes.push(
      `The last point runs on a store that already holds ${prefilled.toLocaleString('en-US')} people (seeded as in the erasure scenario: two identities, four messages, a flow response each).`,
    );
    const goals = points
      .filter((p) => p.params.store === 'postgres')
      .flatMap((p) => [
        goal(`${p.label}: throughput`, '>= 2,000/s', `${p.median.perSecond}/s`, p.median.perSecond >= 2000),
        goal(`${p.label}: p99`, '< 50 ms', `${p.median.p99Ms} ms`, p.median.p99Ms < 50),
      ]);
    if (!ctx.tiny) {
      const kind = kinds.includes('postgres') ? 'postgres' : 'pglite';
      notes.push(...(await measureStore(ctx, kind, { profile: true })).notes);
    }
    return { points, goals, notes };
  },
};
