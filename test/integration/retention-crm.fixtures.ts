import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createPgDatabase, fakePerson, hasService } from '../helpers/test-app.js';
import { ago } from './retention.fixtures.js';

/** An external PostgreSQL system of the data map with retention on two collections (one masked). */
export async function startCrmDatabase() {
  if (!hasService('postgres')) return undefined;
  const database = await createPgDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(`
    create table crm_events (id serial primary key, phone text not null, created_at timestamptz not null);
    create index on crm_events (phone);
    create table leads (id serial primary key, phone text, email text, created_at timestamptz not null);
    create index on leads (phone);`);
  const p = fakePerson();
  for (const days of [40, 45, 60, 100, 1, 2])
    await client.query('insert into crm_events (phone, created_at) values ($1, $2)', [p.e164, ago(days)]);
  for (const days of [31, 50, 70, 3])
    await client.query('insert into leads (phone, email, created_at) values ($1, $2, $3)', [
      p.e164,
      'lead@example.test',
      ago(days),
    ]);
  const yaml = `
  - id: crm
    type: postgres
    url: ${database.url}
    collections:
      - table: crm_events
        identity: { column: phone, format: e164 }
        retention: { column: created_at, days: 30 }
      - table: leads
        identity: { column: phone, format: e164 }
        erase: { mask: [phone, email] }
        retention: { column: created_at, days: 30 }`;
  return {
    yaml,
    expected: { 'crm.crm_events': 4, 'crm.leads': 3 },
    async counts() {
      const r = await client.query<{ events: string; personal: string; leads: string }>(
        `select (select count(*) from crm_events) events, (select count(*) from leads) leads,
                (select count(*) from leads where phone is not null or email is not null) personal`,
      );
      return r.rows[0];
    },
    async close() {
      await client.end();
      await database.drop();
    },
  };
}

export function writeConfig(dir: string, systemsYaml: string | undefined): string {
  const file = path.join(dir, 'retention.yaml');
  fs.writeFileSync(
    file,
    `retention:\n  batchSize: 10\n  pauseMs: 0\n${systemsYaml ? `systems:${systemsYaml}\n` : ''}`,
  );
  return file;
}
