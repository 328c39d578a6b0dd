import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/lib/db/schema.js';
import { createDsrDeps, createRequest } from '../../src/modules/dsr/index.js';
import { sequentialRun } from '../harness/load.js';
import { phoneOf } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { createStore, withContext } from '../harness/store.js';
import type { Goal, Point, RunMetrics } from '../harness/types.js';
import { goal, postgresUnlessTiny, withoutPostgres, type Scenario, type ScenarioOutput } from './context.js';
import { createTargets, seedBulk, storeShape, type Target } from './erasure-seed.js';
import { describeTiming, timedDb } from '../harness/sql-timing.js';

/** Extra erasures per size, on PostgreSQL, with every statement timed (not part of the measured runs). */
const DIAGNOSED = 50;

interface TriggerTiming {
  'Trigger Name': string;
  Relation?: string;
  Time: number;
  Calls: number;
}

/**
 * Where an erasure's time goes: DIAGNOSED erasures through a statement-timing connection, then EXPLAIN ANALYZE
 * of one more subject's `delete from subjects` (rolled back) for the time of each foreign-key trigger it fires:
 * ON DELETE CASCADE / SET NULL look up the referencing rows, by index or by scanning the table.
 */
async function diagnose(
  url: string,
  targets: Target[],
  erase: (tx: Kysely<DB>, t: Target) => Promise<unknown>,
  label: string,
): Promise<string[]> {
  const timed = timedDb(url);
  try {
    const diagnosed = targets.slice(0, DIAGNOSED);
    const t0 = Date.now();
    for (const t of diagnosed) await timed.db.transaction().execute((tx) => erase(tx, t));
    const wall = (Date.now() - t0) / diagnosed.length;
    const lines = [describeTiming(timed, diagnosed.length, `createRequest at ${label}`, wall)];
    const last = targets[DIAGNOSED];
    if (last) {
      const plan = await timed.db
        .transaction()
        .execute(async (tx) => {
          const r = await sql<{ 'QUERY PLAN': { 'Execution Time': number; Triggers?: TriggerTiming[] }[] }>`
            explain (analyze, format json) delete from subjects where id = ${last.subjectId}`.execute(tx);
          throw Object.assign(new Error('rollback'), { plan: r.rows[0]?.['QUERY PLAN'][0] });
        })
        .catch((err: { plan?: { 'Execution Time': number; Triggers?: TriggerTiming[] } }) => err.plan);
      if (plan) {
        const triggers = [...(plan.Triggers ?? [])].sort((a, b) => b.Time - a.Time).slice(0, 4);
        // RI triggers have generated names: name them by their foreign key.
        const names = await sql<{ tgname: string; conname: string }>`
          select t.tgname, c.conname from pg_trigger t join pg_constraint c on c.oid = t.tgconstraint
          where t.tgname = any(${triggers.map((t) => t['Trigger Name'])})`.execute(timed.db);
        const nameOf = (t: TriggerTiming) => {
          const fk = names.rows.find((r) => r.tgname === t['Trigger Name'])?.conname;
          return fk
            ? `FK ${fk} (fired on ${t.Relation ?? '?'})`
            : `${t['Trigger Name']} on ${t.Relation ?? '?'}`;
        };
        lines.push(
          `\`delete from subjects\` of one person at ${label} (EXPLAIN ANALYZE, rolled back): ${Math.round(plan['Execution Time'] * 100) / 100} ms; slowest triggers: ${triggers
            .map((t) => `${nameOf(t)} ${Math.round(t.Time * 100) / 100} ms (${t.Calls} calls)`)
            .join('; ')}.`,
        );
      }
    }
    return lines;
  } finally {
    await timed.close();
  }
}

/** Tables holding a subject's rows, children first (what the raw-SQL floor deletes, those the schema has). */
const SUBJECT_TABLES = [
  'messages',
  'flow_responses',
  'media',
  'message_statuses',
  'identities',
  'subject_keys',
];

/**
 * Erasure of a person's own-store data at growing store sizes: `createRequest` (verified, as the Privacy Center
 * Flow makes it: request row, audit chain, own-store purge, completion, the confirmation job) one at a time,
 * and next to it the floor: the same kind of rows of other people deleted by plain SQL statements.
 */
export const erasureScenario: Scenario = {
  id: 'erasure',
  title: 'Erasure latency of own data by store size',
  unavailable: withoutPostgres,
  async run(ctx): Promise<ScenarioOutput> {
    const kind = postgresUnlessTiny(ctx);
    const erasures = ctx.tiny ? 20 : 500;
    const warmUp = ctx.tiny ? 2 : 50;
    const sizes = [...ctx.sizes].sort((a, b) => a - b);
    const store = await createStore(kind);
    const points: Point[] = [];
    const notes: string[] = [];
    try {
      await withContext(store, async (app) => {
        const tenant = await app.tenants.getDefault();
        const deps = createDsrDeps(app);
        const db = app.database.db;
        const present = await sql<{ table_name: string }>`select table_name from information_schema.columns
          where table_schema = 'public' and column_name = 'subject_id'`.execute(db);
        const tables = SUBJECT_TABLES.filter((t) => present.rows.some((r) => r.table_name === t));
        let have = 0;
        for (const size of sizes) {
          const seconds = await seedBulk(app, tenant.id, have, size, ctx.log);
          have = size;
          const pg = store.databaseUrl !== undefined;
          const diagnosed = pg ? DIAGNOSED + 1 : 0;
          const targets = await createTargets(app, tenant.id, erasures * 2 + diagnosed + 2 * warmUp);
          const warmUpTargets = targets.slice(erasures * 2 + diagnosed);
          // Measured on a store at rest, as autovacuum leaves one: vacuumed (hint bits and the visibility map
          // set) and analyzed, and with the seeding's writes checkpointed, so that neither the library nor the
          // floor runs during a checkpoint that writes out gigabytes of seeded rows.
          const settled = Date.now();
          await sql`vacuum (analyze)`.execute(db);
          // CHECKPOINT needs a superuser or pg_checkpoint; without it the point is measured all the same.
          const checkpointed =
            pg &&
            (await sql`checkpoint`.execute(db).then(
              () => true,
              () => false,
            ));
          notes.push(
            `${size.toLocaleString('en-US')} subjects seeded in ${Math.round(seconds)} s, then vacuumed, analyzed${checkpointed ? ' and checkpointed' : ''} in ${Math.round((Date.now() - settled) / 1000)} s; store: ${await storeShape(db, kind === 'postgres')}.`,
          );
          const viaLibrary = targets.slice(0, erasures);
          const viaSql = targets.slice(erasures, erasures * 2);
          const erase = (tx: Kysely<DB>, t: Target) =>
            createRequest(tx, deps, {
              tenant,
              type: 'erasure',
              scope: 'all',
              channel: 'flow',
              subject: { identity: phoneOf(t.person) },
              verification: 'flow_token',
              actor: { type: 'subject' },
            });
          const viaLibraryOnce = async (t: Target) => {
            const created = await db.transaction().execute((tx) => erase(tx, t));
            if (created.status !== 'completed') throw new Error(`erasure ended ${created.status}`);
          };
          const viaSqlOnce = async (t: Target) => {
            await db.transaction().execute(async (tx) => {
              for (const table of tables)
                await sql`delete from ${sql.table(table)} where subject_id = ${t.subjectId}`.execute(tx);
              await sql`delete from subjects where id = ${t.subjectId}`.execute(tx);
            });
          };
          // Both are measured warm: V8 optimises the library's code only after it has run a while, and the
          // plain deletes' far sooner.
          for (const t of warmUpTargets.slice(0, warmUp)) await viaLibraryOnce(t);
          for (const t of warmUpTargets.slice(warmUp)) await viaSqlOnce(t);
          // The runs of the two alternate, each going first in turn, so that both meet the machine as it is.
          const runs = Math.max(1, Math.min(ctx.runs, erasures));
          const per = Math.floor(erasures / runs);
          const library: RunMetrics[] = [];
          const floor: RunMetrics[] = [];
          for (let r = 0; r < runs; r++) {
            const lib = viaLibrary.slice(r * per, (r + 1) * per);
            const raw = viaSql.slice(r * per, (r + 1) * per);
            const viaLib = () => sequentialRun(per, (i) => viaLibraryOnce(lib[i]!));
            const viaRaw = () => sequentialRun(per, (i) => viaSqlOnce(raw[i]!));
            if (r % 2 === 0) {
              library.push(await viaLib());
              floor.push(await viaRaw());
            } else {
              floor.push(await viaRaw());
              library.push(await viaLib());
            }
          }
          const label = size.toLocaleString('en-US');
          if (pg) {
            notes.push(
              ...(await diagnose(
                store.databaseUrl!,
                targets.slice(erasures * 2),
                erase,
                `${label} subjects`,
              )),
            );
          }
          const left = await db
            .selectFrom('subjects')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where(
              'id',
              'in',
              [
                ...viaLibrary.slice(0, per * runs),
                ...viaSql.slice(0, per * runs),
                ...targets.slice(erasures * 2, erasures * 2 + (pg ? DIAGNOSED : 0)),
                ...warmUpTargets,
              ].map((t) => t.subjectId),
            )
            .executeTakeFirst();
          if (Number(left?.n ?? 0) !== 0) throw new Error('erasure: some target subjects are still there');
          points.push(
            makePoint(`createRequest, ${label} subjects`, { store: kind, size, via: 'library' }, library),
            makePoint(`raw SQL floor, ${label} subjects`, { store: kind, size, via: 'sql' }, floor),
          );
          const [a, b] = points.slice(-2).map((p) => p.median);
          ctx.log(
            `erasure ${label}: library p50 ${a!.p50Ms} / p99 ${a!.p99Ms} ms; raw SQL p50 ${b!.p50Ms} / p99 ${b!.p99Ms} ms`,
          );
        }
      });
    } finally {
      await store.drop();
    }
    return {
      points,
      goals: goals(points),
      notes: [...notes, NOTE],
      markers: { p99: { value: 50, label: 'goal 50 ms' } },
    };
  },
};

const NOTE = `Each size gets 2 x N fresh people made through the library (phone + BSUID identities, encrypted profile name, messages, a flow response, media for one in ten); N are erased with createRequest (verified by flow token, no data-map systems, so the request completes in the same transaction), N by the raw-SQL floor (delete their rows from each table with a subject_id among ${SUBJECT_TABLES.join(', ')}, then the subject, in one transaction). Each size first erases 50 more people each way, unmeasured (warm-up), and is vacuumed, analyzed and checkpointed before that. One erasure at a time; the N of each are split into as many runs as the report's run count, the library's and the floor's runs alternating (each going first in turn), and a point is the median of its runs.`;

function goals(points: Point[]): Goal[] {
  const lib = points.filter((p) => p.params.via === 'library');
  const floor = points.filter((p) => p.params.via === 'sql');
  const smallest = lib[0];
  const largest = lib[lib.length - 1];
  if (!smallest || !largest) return [];
  const out: Goal[] = [
    goal(
      `p99 at ${largest.params.size} subjects`,
      '< 50 ms',
      `${largest.median.p99Ms} ms`,
      largest.median.p99Ms < 50,
    ),
  ];
  if (largest !== smallest) {
    const ratio = largest.median.p50Ms / Math.max(smallest.median.p50Ms, 1e-6);
    out.push(
      goal(
        `p50 at ${largest.params.size} vs ${smallest.params.size} subjects`,
        '<= 2x',
        `${ratio.toFixed(2)}x`,
        ratio <= 2,
      ),
    );
  }
  for (const p of lib) {
    const f = floor.find((x) => x.params.size === p.params.size);
    if (!f) continue;
    const ratio = p.median.p50Ms / Math.max(f.median.p50Ms, 1e-6);
    out.push(
      goal(
        `p50 vs raw-SQL floor at ${p.params.size} subjects`,
        '<= 2x',
        `${ratio.toFixed(2)}x (${p.median.p50Ms} vs ${f.median.p50Ms} ms)`,
        ratio <= 2,
      ),
    );
  }
  return out;
}
