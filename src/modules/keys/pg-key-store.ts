import pg from 'pg';
import type { SealedPurposeKey, StoredPurpose } from '../../lib/crypto/index.js';
import type { JournalEntry, KeyStore, RotationState, StoredKey } from './key-store.js';

/**
 * The PostgreSQL key store: schema `keystore` in the database of FLOWGUARD_KEYSTORE_URL (a separate database,
 * with its own, short-retention backups). Without that setting flowguard falls back to the schema in its own
 * database and warns: a backup of that database then holds the keys too, and crypto-shredding no longer
 * survives a restore. Deleted rows leave the heap at the next VACUUM; the journal row is written in the same
 * transaction as the delete.
 */

const LOCK_ID = 7_305_118_010;

/** Numbered, forward-only, like the main schema's migrations; applied under an advisory lock. */
const MIGRATIONS: string[] = [
  /* sql */ `
  create table keystore.keys (
    ref text primary key,
    tenant_id text not null,
    wrapped_key text not null,
    master_version text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );
  create index keys_tenant on keystore.keys (tenant_id, ref);
  create index keys_version on keystore.keys (master_version, ref);
  create table keystore.erasure_journal (
    ref text primary key,
    tenant_id text not null,
    erased_at timestamptz not null,
    recorded_at timestamptz not null default now()
  );
  create index erasure_journal_tenant on keystore.erasure_journal (tenant_id);
  create table keystore.material (
    purpose text not null,
    version text not null,
    wrapped_key text not null,
    master_version text not null,
    updated_at timestamptz not null default now(),
    primary key (purpose, version)
  );
  create table keystore.rotation (
    id boolean primary key default true check (id),
    target_version text not null,
    cursor text,
    rewrapped bigint not null,
    batches integer not null,
    started_at timestamptz not null,
    updated_at timestamptz not null,
    finished_at timestamptz
  );`,
  /* sql */ `
  alter table keystore.material add column active_from timestamptz;
  create index erasure_journal_erased on keystore.erasure_journal (erased_at);`,
];

async function migrateKeyStore(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_ID]);
    await client.query('create schema if not exists keystore');
    await client.query(
      'create table if not exists keystore.migrations (version integer primary key, applied_at timestamptz not null default now())',
    );
    const { rows } = await client.query<{ v: number | null }>(
      'select max(version) as v from keystore.migrations',
    );
    for (let v = (rows[0]?.v ?? 0) + 1; v <= MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v - 1]!);
      await client.query('insert into keystore.migrations (version) values ($1)', [v]);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

interface KeyRow {
  ref: string;
  tenant_id: string;
  wrapped_key: string;
  master_version: string;
}
const toKey = (r: KeyRow): StoredKey => ({
  ref: r.ref,
  tenantId: r.tenant_id,
  wrapped: r.wrapped_key,
  masterVersion: r.master_version,
});

export async function openPgKeyStore(url: string, opts: { separate: boolean }): Promise<KeyStore> {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'flowguard-keystore' });
  pool.on('error', () => undefined);
  try {
    await migrateKeyStore(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const location = new URL(url).pathname.replace(/^\//, '') || 'postgres';
  const q = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    (await pool.query<R>(text, values)).rows;

  /** One statement for any number of keys. */
  const putMany = async (keys: StoredKey[]) => {
    if (keys.length === 0) return;
    await q(
      `insert into keystore.keys (ref, tenant_id, wrapped_key, master_version)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
       on conflict (ref) do update set wrapped_key = excluded.wrapped_key, master_version = excluded.master_version,
         updated_at = now()`,
      [
        keys.map((k) => k.ref),
        keys.map((k) => k.tenantId),
        keys.map((k) => k.wrapped),
        keys.map((k) => k.masterVersion),
      ],
    );
  };

  return {
    kind: 'postgres',
    separate: opts.separate,
    location,
    put: (key) => putMany([key]),
    putMany,
    async get(ref) {
      const rows = await q<KeyRow>(
        `select ref, tenant_id, wrapped_key, master_version from keystore.keys k where ref = $1
           and not exists (select 1 from keystore.erasure_journal j where j.ref = k.ref)`,
        [ref],
      );
      return rows[0] ? toKey(rows[0]) : undefined;
    },
    async delete(entries: JournalEntry[]) {
      if (entries.length === 0) return 0;
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(
          `insert into keystore.erasure_journal (ref, tenant_id, erased_at)
           select * from unnest($1::text[], $2::text[], $3::timestamptz[]) on conflict (ref) do nothing`,
          [entries.map((e) => e.ref), entries.map((e) => e.tenantId), entries.map((e) => e.erasedAt)],
        );
        const r = await client.query('delete from keystore.keys where ref = any($1::text[])', [
          entries.map((e) => e.ref),
        ]);
        await client.query('commit');
        return r.rowCount ?? 0;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    listByTenant: async (tenantId, after, limit) =>
      (
        await q<KeyRow>(
          `select ref, tenant_id, wrapped_key, master_version from keystore.keys
           where tenant_id = $1 and ($2::text is null or ref > $2) order by ref limit $3`,
          [tenantId, after, limit],
        )
      ).map(toKey),
    listNotAt: async (version, after, limit) =>
      (
        await q<KeyRow>(
          `select ref, tenant_id, wrapped_key, master_version from keystore.keys
           where master_version <> $1 and ($2::text is null or ref > $2) order by ref limit $3`,
          [version, after, limit],
        )
      ).map(toKey),
    countNotAt: async (version) =>
      Number(
        (
          await q<{ n: string }>('select count(*) as n from keystore.keys where master_version <> $1', [
            version,
          ])
        )[0]?.n ?? 0,
      ),
    count: async () => Number((await q<{ n: string }>('select count(*) as n from keystore.keys'))[0]?.n ?? 0),
    async rewrap(updates) {
      if (updates.length === 0) return 0;
      const rows = await q<{ ref: string }>(
        `update keystore.keys k set wrapped_key = u.wrapped, master_version = u.version, updated_at = now()
         from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as u(ref, prev, wrapped, version)
         where k.ref = u.ref and k.wrapped_key = u.prev returning k.ref`,
        [
          updates.map((u) => u.ref),
          updates.map((u) => u.from),
          updates.map((u) => u.wrapped),
          updates.map((u) => u.masterVersion),
        ],
      );
      return rows.length;
    },
    async present(refs) {
      if (refs.length === 0) return new Set();
      const rows = await q<{ ref: string }>('select ref from keystore.keys where ref = any($1::text[])', [
        refs,
      ]);
      return new Set(rows.map((r) => r.ref));
    },
    async journaled(refs) {
      if (refs.length === 0) return new Set();
      const rows = await q<{ ref: string }>(
        'select ref from keystore.erasure_journal where ref = any($1::text[])',
        [refs],
      );
      return new Set(rows.map((r) => r.ref));
    },
    journalSize: async () =>
      Number((await q<{ n: string }>('select count(*) as n from keystore.erasure_journal'))[0]?.n ?? 0),
    countJournalBefore: async (before) =>
      Number(
        (
          await q<{ n: string }>('select count(*) as n from keystore.erasure_journal where erased_at < $1', [
            before,
          ])
        )[0]?.n ?? 0,
      ),
    purgeJournal: async (before, limit) =>
      (
        await q<{ ref: string }>(
          `delete from keystore.erasure_journal where ref in (select ref from keystore.erasure_journal
             where erased_at < $1 order by erased_at limit $2 for update skip locked) returning ref`,
          [before, limit],
        )
      ).length,
    getMaterial: async () =>
      (
        await q<{
          purpose: string;
          version: string;
          wrapped_key: string;
          master_version: string;
          active_from: Date | null;
        }>(
          'select purpose, version, wrapped_key, master_version, active_from from keystore.material order by purpose, version',
        )
      ).map((r) => ({
        purpose: r.purpose as StoredPurpose,
        version: r.version,
        wrapped: r.wrapped_key,
        masterVersion: r.master_version,
        ...(r.active_from ? { activeFrom: r.active_from.toISOString() } : {}),
      })),
    async putMaterial(records: SealedPurposeKey[], mode) {
      for (const r of records) {
        await q(
          `insert into keystore.material (purpose, version, wrapped_key, master_version, active_from)
           values ($1, $2, $3, $4, $5)
           on conflict (purpose, version) do ${
             mode === 'replace'
               ? 'update set wrapped_key = excluded.wrapped_key, master_version = excluded.master_version, updated_at = now()'
               : 'nothing'
           }`,
          [r.purpose, r.version, r.wrapped, r.masterVersion, r.activeFrom ?? null],
        );
      }
    },
    deleteMaterial: async (purpose, version) =>
      (
        await q<{ version: string }>(
          'delete from keystore.material where purpose = $1 and version = $2 returning version',
          [purpose, version],
        )
      ).length > 0,
    async getRotation() {
      const rows = await q<{
        target_version: string;
        cursor: string | null;
        rewrapped: string;
        batches: number;
        started_at: Date;
        updated_at: Date;
        finished_at: Date | null;
      }>('select * from keystore.rotation');
      const r = rows[0];
      return r
        ? {
            targetVersion: r.target_version,
            cursor: r.cursor,
            rewrapped: Number(r.rewrapped),
            batches: r.batches,
            startedAt: r.started_at,
            updatedAt: r.updated_at,
            finishedAt: r.finished_at,
          }
        : undefined;
    },
    async setRotation(s: RotationState) {
      await q(
        `insert into keystore.rotation (id, target_version, cursor, rewrapped, batches, started_at, updated_at, finished_at)
         values (true, $1, $2, $3, $4, $5, $6, $7)
         on conflict (id) do update set target_version = $1, cursor = $2, rewrapped = $3, batches = $4,
           started_at = $5, updated_at = $6, finished_at = $7`,
        [s.targetVersion, s.cursor, s.rewrapped, s.batches, s.startedAt, s.updatedAt, s.finishedAt],
      );
    },
    async close() {
      await pool.end();
    },
  };
}
