import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../lib/db/database.js';
import type { DB } from '../lib/db/schema.js';

/** The channel a job insert notifies, with the queue's name as payload. */
export const JOB_CHANNEL = 'flowguard_jobs';

/** The lock that serialises schema changes (the migrations' advisory lock). */
const SCHEMA_LOCK = 7_305_118_001;

/**
 * Triggers on pg-boss' job table that NOTIFY when a job becomes waiting (`created` or `retry`): inserted (pg-boss
 * also re-inserts a failed job for its retry), or moved by an update of its state or start time. The payload is
 * the queue's name, and for a job not due yet `<name>@<ms>`, the milliseconds from the writing transaction's
 * start to the job's `start_after`. PostgreSQL delivers a notification when the writing transaction commits
 * (never for a rolled-back one, once per payload per transaction), so a job enqueued inside a request's
 * transaction wakes the workers exactly when it becomes visible, and a retry or a deferred job when it becomes
 * due, in this process or any other sharing the database, instead of at their next poll. Installed once, after
 * pg-boss has created its schema; DDL is only run when a trigger is missing.
 */
export async function installJobNotifyTrigger(db: Kysely<DB>): Promise<void> {
  const present = async (tx: Kysely<DB>) =>
    (
      await sql<{ n: number }>`select count(*)::int as n from pg_trigger
        where tgname in ('flowguard_job_notify', 'flowguard_job_due_notify')
          and tgrelid = 'pgboss.job'::regclass`.execute(tx)
    ).rows[0]?.n === 2;
  if (await present(db)) return;
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${SCHEMA_LOCK}::bigint)`.execute(tx);
    if (await present(tx)) return;
    await sql`create or replace function flowguard_job_notify() returns trigger language plpgsql as $$
      begin
        if new.state in ('created', 'retry') then
          perform pg_notify(${sql.lit(JOB_CHANNEL)}, case
            when new.start_after > now()
              then new.name || '@' || ceil(extract(epoch from new.start_after - now()) * 1000)::bigint
            else new.name end);
        end if;
        return null;
      end;
      $$`.execute(tx);
    await sql`drop trigger if exists flowguard_job_notify on pgboss.job`.execute(tx);
    await sql`create trigger flowguard_job_notify after insert on pgboss.job
      for each row execute function flowguard_job_notify()`.execute(tx);
    await sql`create trigger flowguard_job_due_notify after update of state, start_after on pgboss.job
      for each row
      when (new.state in ('created', 'retry')
        and (old.state is distinct from new.state or old.start_after is distinct from new.start_after))
      execute function flowguard_job_notify()`.execute(tx);
  });
}

/** A job notification's queue and, for a job not due yet, how long until it is (see installJobNotifyTrigger). */
function parseJobNotification(payload: string): { name: string; dueInMs: number } {
  const at = payload.lastIndexOf('@');
  const ms = at > 0 ? Number(payload.slice(at + 1)) : NaN;
  return Number.isFinite(ms) && ms > 0
    ? { name: payload.slice(0, at), dueInMs: ms }
    : { name: payload, dueInMs: 0 };
}

/** How often the waker checks, with a notification of its own, that notifications reach it. */
const HEARTBEAT_MS = 10_000;
/** How long a heartbeat may take to come back before notifications count as not arriving. */
const HEARTBEAT_TIMEOUT_MS = 2_000;

/**
 * Wakes this process' workers of a queue when a job of it is committed or becomes due (see
 * installJobNotifyTrigger), and runs the work registered for a table when rows of it are committed
 * (`table:<name>`, see migration 0016). A job not due yet wakes the workers when it is: its notification sets a
 * timer. After the listening connection was re-established, every worker is woken and every table's work run
 * once, for what was committed while nobody listened.
 *
 * Whether notifications arrive is checked every HEARTBEAT_MS with one of its own (a pooler in transaction mode,
 * for one, accepts LISTEN and never passes anything on). While none is known to arrive, the waker itself wakes
 * each worker at the polling interval it was registered with: workers then run as if they polled.
 */
export function createJobWaker(logger: Logger, notify: (workerId: string) => void) {
  const workers = new Map<string, Map<string, { intervalMs: number; lastWoken: number }>>();
  const tables = new Map<string, ReturnType<typeof coalesced>>();
  const due = dueTimers((name) => wake(name));
  const token = crypto.randomBytes(8).toString('hex');
  let listening: Promise<void> | undefined;
  let stop: (() => Promise<void>) | undefined;
  let sent = 0;
  let heard = 0;
  /** Whether notifications arrive: not known yet, known to (the last heartbeat came back), known not to. */
  let state: 'unknown' | 'live' | 'silent' = 'unknown';
  let heartbeat: NodeJS.Timeout | undefined;
  let fallback: NodeJS.Timeout | undefined;
  function wake(name: string): void {
    const now = performance.now();
    for (const [id, w] of workers.get(name) ?? []) {
      w.lastWoken = now;
      notify(id);
    }
    tables.get(name)?.run();
  }
  /** While notifications are not known to arrive: wake each worker once its polling interval has passed. */
  function poll(): void {
    if (state === 'live') return;
    const now = performance.now();
    for (const set of workers.values())
      for (const [id, w] of set)
        if (now - w.lastWoken >= w.intervalMs) {
          w.lastWoken = now;
          notify(id);
        }
  }
  function beat(database: Pick<Database, 'sql'>): void {
    const n = ++sent;
    database.sql.executeSql('select pg_notify($1, $2)', [JOB_CHANNEL, `heartbeat:${token}:${n}`]).then(
      () =>
        setTimeout(() => {
          if (heard < n && sent === n) silent();
        }, HEARTBEAT_TIMEOUT_MS).unref(),
      () => silent(),
    );
  }
  function silent(): void {
    if (listening === undefined) return; // stopped meanwhile
    if (state !== 'silent') logger.warn('job notifications are not arriving: workers poll until they do');
    state = 'silent';
  }
  function onPayload(payload: string): void {
    if (payload.startsWith('heartbeat:')) {
      const [, from, n] = payload.split(':');
      if (from !== token) return;
      heard = Math.max(heard, Number(n));
      if (state === 'silent') logger.info('job notifications arrive again: workers are woken by their jobs');
      state = 'live';
      return;
    }
    const { name, dueInMs } = parseJobNotification(payload);
    if (dueInMs > 0) due.at(name, dueInMs);
    else wake(name);
  }
  return {
    /** Wake `workerId` for jobs of `queue`; while notifications are not arriving, every `intervalMs`. */
    register(queue: string, workerId: string, intervalMs: number): void {
      const set = workers.get(queue) ?? new Map<string, { intervalMs: number; lastWoken: number }>();
      set.set(workerId, { intervalMs, lastWoken: performance.now() });
      workers.set(queue, set);
      if (!fallback) {
        fallback = setInterval(poll, FALLBACK_TICK_MS);
        fallback.unref();
      }
    },
    /** Run `work` after rows of `table` are committed: once at a time, once more for what came meanwhile. */
    onTable(table: string, work: () => Promise<unknown>): void {
      tables.set(
        `table:${table}`,
        coalesced(work, (err) =>
          logger.warn({ err, table }, 'work after a commit failed: its schedule retries'),
        ),
      );
    },
    /** Whether notifications are known to arrive (the last heartbeat came back). */
    get live(): boolean {
      return state === 'live';
    },
    /** Listen, once however many callers ask (concurrent ones wait for the same start). */
    start(database: Pick<Database, 'listen' | 'sql'>): Promise<void> {
      let first = true;
      listening ??= database
        .listen(JOB_CHANNEL, onPayload, () => {
          // Connected again after a loss: what was committed meanwhile notified nobody.
          if (!first) for (const name of [...workers.keys(), ...tables.keys()]) wake(name);
          first = false;
          beat(database);
        })
        .then(
          (s) => {
            stop = s;
            heartbeat = setInterval(() => beat(database), HEARTBEAT_MS);
            heartbeat.unref();
          },
          (err: unknown) => logger.warn({ err }, 'job notifications unavailable: workers poll only'),
        );
      return listening;
    },
    async stop(): Promise<void> {
      await listening;
      const s = stop;
      stop = undefined;
      listening = undefined;
      state = 'unknown';
      clearInterval(heartbeat);
      clearInterval(fallback);
      heartbeat = undefined;
      fallback = undefined;
      due.clear();
      workers.clear();
      if (s) await s();
      const running = [...tables.values()];
      tables.clear();
      await Promise.all(running.map((t) => t.idle()));
    },
  };
}

/** How often the waker looks for workers due a poll while notifications are not arriving. */
const FALLBACK_TICK_MS = 250;

/** Jobs not due yet whose due times are remembered per queue (later ones are left to the workers' polls). */
const DUE_TIMES_PER_QUEUE = 1000;
/** Wake a little after the due time, so the job is due by the database's clock too. */
const DUE_MARGIN_MS = 25;

/**
 * `at(name, ms)` calls `fire(name)` once `ms` have passed (plus a small margin); due times closer than the
 * margin to one already set share its timer. One timer per queue, for its earliest due time.
 */
function dueTimers(fire: (name: string) => void) {
  const queues = new Map<string, { times: number[]; timer?: NodeJS.Timeout }>();
  const arm = (name: string) => {
    const q = queues.get(name);
    if (!q) return;
    if (q.timer) clearTimeout(q.timer);
    const next = q.times[0];
    if (next === undefined) {
      queues.delete(name);
      return;
    }
    q.timer = setTimeout(
      () => {
        q.timer = undefined;
        const now = performance.now();
        while (q.times[0] !== undefined && q.times[0] <= now + DUE_MARGIN_MS) q.times.shift();
        fire(name);
        arm(name);
      },
      Math.max(0, next - performance.now()),
    );
    q.timer.unref();
  };
  return {
    at(name: string, ms: number): void {
      const when = performance.now() + ms + DUE_MARGIN_MS;
      const q = queues.get(name) ?? { times: [] };
      queues.set(name, q);
      if (q.times.some((t) => Math.abs(t - when) < DUE_MARGIN_MS)) return;
      const i = q.times.findIndex((t) => t > when);
      if (i === -1) q.times.push(when);
      else q.times.splice(i, 0, when);
      if (q.times.length > DUE_TIMES_PER_QUEUE) q.times.pop();
      if (i === 0 || q.times.length === 1) arm(name);
    },
    clear(): void {
      for (const q of queues.values()) if (q.timer) clearTimeout(q.timer);
      queues.clear();
    },
  };
}

/**
 * `run` starts `work` unless it is running; a `run` while it is running has it go once more when it ends (what
 * was committed meanwhile may have come after its read). `idle` resolves when it is not running.
 */
function coalesced(work: () => Promise<unknown>, onError: (err: unknown) => void) {
  let running: Promise<void> | undefined;
  let again = false;
  const loop = async () => {
    do {
      again = false;
      try {
        await work();
      } catch (err) {
        onError(err);
      }
    } while (again);
    running = undefined;
  };
  return {
    run(): void {
      if (running) again = true;
      else running = loop();
    },
    idle: (): Promise<void> => running ?? Promise.resolve(),
  };
}
