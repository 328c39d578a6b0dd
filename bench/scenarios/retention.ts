import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { loadRun } from '../harness/load.js';
import { benchPerson } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { startServer, type ServerProcess } from '../harness/server.js';
import { createStore, repoRoot, withContext, type BenchStore } from '../harness/store.js';
import type { RunMetrics } from '../harness/types.js';
import { goal, postgresUnlessTiny, withoutPostgres, type Scenario, type ScenarioOutput } from './context.js';
import { seedExpiredMessages } from './retention-seed.js';
import { inboundText } from './webhooks.js';

interface SweepOutcome {
  deleted: number;
  seconds: number;
}

/**
 * `flowguard retention run` while `serve` runs: on the embedded store the CLI hands the sweep to the server over
 * the admin socket (it runs inside the server, as the scheduled sweep does); on PostgreSQL it runs in the CLI's
 * own process against the shared database (as a separate worker would). Its stderr summary gives the sweep's
 * own duration (the CLI's start-up is not counted).
 */
function runSweep(store: BenchStore): Promise<SweepOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'flowguard.js'), 'retention', 'run'],
      {
        cwd: store.dir,
        env: { ...store.env, FLOWGUARD_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = /retention: (\d+) rows\/items deleted in ([\d.]+) s/.exec(err);
      if (code !== 0 || !m) {
        reject(new Error(`retention run exited ${code}: ${err.slice(-500)}`));
        return;
      }
      resolve({ deleted: Number(m[1]), seconds: Number(m[2]) });
    });
  });
}

const ingest = (server: ServerProcess, amount: number, until?: Promise<unknown>) =>
  loadRun({
    baseUrl: server.baseUrl,
    path: '/webhooks/whatsapp',
    connections: 8,
    serverPid: server.pid,
    requests: { make: () => inboundText(benchPerson()), amount },
    until,
  });

export const retentionScenario: Scenario = {
  id: 'retention',
  title: 'Retention sweep of expired rows, and webhook ingest during the sweep',
  unavailable: withoutPostgres,
  async run(ctx): Promise<ScenarioOutput> {
    const kind = postgresUnlessTiny(ctx);
    const expired = ctx.tiny ? 2_000 : 1_000_000;
    const store = await createStore(kind);
    try {
      const seedStart = Date.now();
      await withContext(store, async (app) => {
        const tenant = await app.tenants.getDefault();
        await seedExpiredMessages(app, tenant.id, expired, ctx.log);
      });
      const seedSeconds = (Date.now() - seedStart) / 1000;
      const server = await startServer(store);
      let baseline: RunMetrics;
      let during: RunMetrics;
      let sweep: SweepOutcome;
      try {
        const amount = ctx.tiny ? 20 : 4000;
        if (!ctx.tiny) await ingest(server, 500); // warm-up
        baseline = await ingest(server, amount);
        const sweeping = runSweep(store);
        // Ingest for as long as the sweep runs (the amount is only a ceiling).
        during = await ingest(
          server,
          ctx.tiny ? 20 : 10_000_000,
          sweeping.catch(() => undefined),
        );
        sweep = await sweeping;
      } finally {
        await server.stop();
      }
      const left = await withContext(store, async (app) => {
        const r = await sql<{ n: string }>`select count(*)::text as n from messages
          where created_at < now() - interval '90 days'`.execute(app.database.db);
        return Number(r.rows[0]?.n ?? -1);
      });
      if (left !== 0) throw new Error(`retention: ${left} expired messages are still there`);
      const sweepRun: RunMetrics = {
        ...during,
        count: sweep.deleted,
        errors: 0,
        seconds: sweep.seconds,
        perSecond: sweep.deleted / Math.max(sweep.seconds, 1e-3),
        p50Ms: 0,
        p99Ms: 0,
        meanMs: 0,
        maxMs: 0,
      };
      const points = [
        makePoint(`ingest c=8, no sweep (${kind})`, { store: kind, phase: 'baseline' }, [baseline]),
        makePoint(`ingest c=8, during the sweep (${kind})`, { store: kind, phase: 'during' }, [during]),
        makePoint(`sweep: expired rows deleted (${kind})`, { store: kind, phase: 'sweep' }, [sweepRun]),
      ];
      const [b, d, s] = points.map((p) => p.median) as [RunMetrics, RunMetrics, RunMetrics];
      ctx.log(`retention: ${s.perSecond} rows/s; ingest p99 ${b.p99Ms} ms → ${d.p99Ms} ms during the sweep`);
      const ratio = d.p99Ms / Math.max(b.p99Ms, 1e-6);
      return {
        points,
        goals: [
          goal(
            'ingest p99 during the sweep vs without',
            '<= 2x',
            `${ratio.toFixed(2)}x (${d.p99Ms} vs ${b.p99Ms} ms)`,
            ratio <= 2,
          ),
        ],
        notes: [
          `${expired.toLocaleString('en-US')} expired message rows (100-400 days old; the messages period is 90 days) among ${Math.ceil(expired / 4).toLocaleString('en-US')} recently seen people, each also holding one recent message that must stay; seeded in ${Math.round(seedSeconds)} s. The sweep is \`flowguard retention run\` with the default batch size and pause, started while the server ingests signed webhooks from new people at 8 connections; afterwards no expired message is left.`,
          'The sweep point reports rows deleted per second (its latency columns are not used); its CPU columns are those of the ingest run it overlapped.',
        ],
        markers: {},
      };
    } finally {
      await store.drop();
    }
  },
};
