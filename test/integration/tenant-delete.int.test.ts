import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoreCommand } from '../../src/cli/admin-socket.js';
import '../../src/cli/commands/index.js';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import type { TenantDeletionReport } from '../../src/modules/tenants/delete-tenant.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase, fakePerson, hasService, storeKinds, type TestApp } from '../helpers/test-app.js';
import { contact, delivery, phoneOf, postWebhook, textMessage } from '../helpers/webhook-payloads.js';
import {
  createDeployment,
  deploymentEnv,
  destroyDeployment,
  ingest,
  openApp,
  readSubject,
  type Deployment,
} from './shredding.fixtures.js';

const ACME = { id: 'acme', phoneNumberId: '100000000000077', appSecret: 'acme-app-secret-0123456789' };
const BILLING = 'billing records, tax law';

/**
 * Tenant offboarding: every contact of the tenant leaves flowguard, the key store and the data map's systems
 * (one erasure request per person), the billing rows the data map retains stay, and a PII-free proof report
 * and audit trail remain. The default tenant the environment configures cannot be deleted.
 */
describe.runIf(hasService('postgres')).each(storeKinds())('tenant offboarding on %s', (kind) => {
  let dep: Deployment;
  let t: TestApp;
  let biz: { url: string; drop: () => Promise<void> };
  let bizc: pg.Client;
  const acmePeople = [fakePerson(), fakePerson(), fakePerson()];
  const acmeIds: string[] = [];
  const other = fakePerson();
  let otherId: string;

  beforeAll(async () => {
    dep = await createDeployment(kind);
    biz = await createPgDatabase();
    bizc = new pg.Client({ connectionString: biz.url });
    await bizc.connect();
    await bizc.query(`create table contacts (id serial primary key, phone text not null);
      create index on contacts (phone);
      create table invoices (id serial primary key, customer_phone text not null, amount_cents int);
      create index on invoices (customer_phone);`);
    const yaml = path.join(dep.dataDir, 'flowguard.yaml');
    fs.writeFileSync(
      yaml,
      `queues:
  connector.run: { retryLimit: 1, retryDelaySeconds: 1 }
systems:
  - id: biz
    type: postgres
    url: ${biz.url}
    collections:
      - { table: contacts, identity: { column: phone, format: e164 } }
      - { table: invoices, identity: { column: customer_phone, format: e164 }, retain: { reason: "${BILLING}" } }
`,
    );
    dep.cleanup.push(async () => {
      await bizc.end();
      await biz.drop();
    });
    t = await openApp(dep, { env: { FLOWGUARD_CONFIG: yaml } });
    await addTenant({ db: t.ctx.database.db, keyring: t.ctx.keyring }, ACME);
    await t.ctx.tenants.reload();
    await startConnectorWorker(t.ctx);
    const acmeOpts = { secret: ACME.appSecret };
    for (const p of acmePeople) {
      const res = await postWebhook(
        t,
        delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] }, ACME.phoneNumberId),
        acmeOpts,
      );
      expect(res.statusCode).toBe(200);
      acmeIds.push((await t.ctx.subjects.find(t.ctx.database.db, ACME.id, [phoneOf(p)]))!);
      await bizc.query('insert into contacts (phone) values ($1)', [p.e164]);
      await bizc.query('insert into invoices (customer_phone, amount_cents) values ($1, 990)', [p.e164]);
    }
    // One of them said STOP (a suppression), and the tenant has an API key.
    await postWebhook(
      t,
      delivery({ messages: [textMessage(acmePeople[0]!, 'STOP')] }, ACME.phoneNumberId),
      acmeOpts,
    );
    await createApiKey(t.ctx.database.db, { tenantId: ACME.id, name: 'acme backend' });
    otherId = await ingest(t, other);
    await bizc.query('insert into contacts (phone) values ($1)', [other.e164]);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await destroyDeployment(dep);
  });

  const db = () => t.ctx.database.db;
  const count = async (table: 'subjects' | 'identities' | 'messages' | 'suppressions' | 'api_keys') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', ACME.id)
          .executeTakeFirst()
      )?.n,
    );

  it('refuses the default tenant the environment configures, and deletes nothing without --yes', async () => {
    const refused = await runStoreCommand(t.ctx, 'tenant.delete', { id: 'default', yes: true });
    expect(refused.exitCode).toBe(1);
    expect(refused.notes?.join()).toContain('CONFLICT');
    const preview = await runStoreCommand(t.ctx, 'tenant.delete', { id: ACME.id });
    expect(preview.exitCode).toBe(1);
    expect(preview.output).toMatchObject({ tenant: ACME.id, would_delete: { subjects: 3, suppressions: 1 } });
    expect(await count('subjects')).toBe(3);
  });

  it('removes every contact of the tenant everywhere, keeps the billing rows, and writes a proof', async () => {
    const reportFile = path.join(dep.dataDir, 'offboarding-proof.json');
    let report: TenantDeletionReport;
    if (kind === 'postgres') {
      // A second process (the CLI) while the running instance's connector worker serves the data map.
      const res = await runCli(
        ['tenant', 'delete', ACME.id, '--yes', '--wait', '60', '--report', reportFile],
        deploymentEnv(dep, { FLOWGUARD_CONFIG: path.join(dep.dataDir, 'flowguard.yaml') }),
      );
      expect(res.code, res.stderr).toBe(0);
      report = JSON.parse(res.stdout) as TenantDeletionReport;
    } else {
      const res = await runStoreCommand(t.ctx, 'tenant.delete', {
        id: ACME.id,
        yes: true,
        waitSeconds: 60,
        reportFile,
      });
      expect(res.exitCode, res.notes?.join('\n')).toBe(0);
      report = res.output as TenantDeletionReport;
    }
    expect(JSON.parse(fs.readFileSync(reportFile, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(report).toMatchObject({
      tenant: ACME.id,
      status: 'deleted',
      own_store: { subjects: 3, identities: 3, messages: 4, suppressions: 1, api_keys: 1 },
      keys: { shredded: 3, remaining: 0 },
      requests: { erasure_requests: 3, open: 0, failed: 0 },
      systems: [{ id: 'biz', tasks: { done: 3 }, outcomes: { deleted: 3, retained: 3 } }],
      retained: [{ system: 'biz', table: 'invoices', reason: BILLING }],
    });
    expect(report.audit_head!.seq).toBeGreaterThan(0);
    const text = JSON.stringify(report);
    for (const p of acmePeople) {
      expect(text).not.toContain(p.waId);
      expect(text).not.toContain(p.name);
    }

    // flowguard's own store and the key store.
    await t.ctx.tenants.reload();
    expect(await db().selectFrom('tenants').select('id').where('id', '=', ACME.id).execute()).toEqual([]);
    for (const table of ['subjects', 'identities', 'messages', 'suppressions', 'api_keys'] as const) {
      expect(await count(table), table).toBe(0);
    }
    expect(await t.ctx.keyStore.listByTenant(ACME.id, null, 10)).toEqual([]);
    const refs = acmeIds.map((id) => t.ctx.subjectKeys.ref(id));
    expect(await t.ctx.keyStore.journaled(refs)).toEqual(new Set(refs));
    const requests = await db()
      .selectFrom('privacy_requests')
      .select(['type', 'status', 'identities'])
      .where('tenant_id', '=', ACME.id)
      .execute();
    // The STOP's opt-out and one erasure per contact: records kept, without the identities.
    expect(requests.map((r) => r.type).sort()).toEqual(['erasure', 'erasure', 'erasure', 'opt_out']);
    expect(requests.every((r) => r.status === 'completed' && r.identities === null)).toBe(true);
    const events = await db()
      .selectFrom('audit_log')
      .select('event_type')
      .where('tenant_id', '=', ACME.id)
      .where('event_type', 'like', 'tenant.%')
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.event_type)).toEqual(['tenant.offboarding_started', 'tenant.deleted']);
    expect((await verifyAuditChain(db())).ok).toBe(true);

    // The data map: contacts gone, billing rows kept; the other tenant's person untouched.
    const left = await bizc.query<{ phone: string }>('select phone from contacts order by id');
    expect(left.rows.map((r) => r.phone)).toEqual([other.e164]);
    const invoices = await bizc.query('select customer_phone from invoices');
    expect(invoices.rows).toHaveLength(3);
    expect(await readSubject(t, otherId)).toEqual({ phone: other.e164, name: other.name });

    // Webhooks for the deleted tenant's number no longer land anywhere.
    const late = fakePerson();
    await postWebhook(
      t,
      delivery({ contacts: [contact(late)], messages: [textMessage(late, 'hi')] }, ACME.phoneNumberId),
      {
        secret: ACME.appSecret,
      },
    );
    expect(await count('subjects')).toBe(0);
  });
});
