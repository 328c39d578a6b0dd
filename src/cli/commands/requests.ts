import type { AppContext } from '../../app/context.js';
import {
  createDsrDeps,
  denyRequest,
  DENIAL_REASONS,
  exportRequest,
  EXTENSION_REASONS,
  extendRequest,
  getRequestView,
  listRequests,
  proofReport,
  requestIdFrom,
  type RequestSummary,
} from '../../modules/dsr/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

/** `--tenant` narrows to one tenant (and checks it exists); without it the operator sees every tenant. */
async function tenantOf(ctx: AppContext, args: Record<string, unknown>): Promise<string | undefined> {
  return typeof args.tenant === 'string' ? (await ctx.tenants.get(args.tenant)).id : undefined;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function table(rows: RequestSummary[]): string {
  const header = ['ID', 'REFERENCE', 'TENANT', 'TYPE', 'STATUS', 'DUE', 'OVERDUE'];
  const cells = rows.map((r) => [
    r.id,
    r.reference,
    r.tenant,
    r.type,
    r.status,
    r.due_at.slice(0, 16).replace('T', ' '),
    r.overdue ? 'OVERDUE' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells]
    .map((c) =>
      c
        .map((v, i) => v.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

registerStoreCommand('requests.list', async (ctx, args) => {
  const rows = await listRequests(
    ctx.database.db,
    {
      tenantId: await tenantOf(ctx, args),
      status: str(args.status),
      type: str(args.type),
      overdue: args.overdue === true,
      limit: typeof args.limit === 'number' ? args.limit : 1000,
    },
    ctx.clock(),
  );
  if (args.table === true) return ok(table(rows));
  return ok(rows.map((r) => JSON.stringify(r)).join('\n'));
});

registerStoreCommand('requests.show', async (ctx, args) =>
  ok(await getRequestView(ctx.database.db, await tenantOf(ctx, args), requestIdFrom(args.id), ctx.clock())),
);

registerStoreCommand('requests.proof', async (ctx, args) =>
  ok(
    await proofReport(ctx.database.db, {
      tenantId: await tenantOf(ctx, args),
      requestId: requestIdFrom(args.id),
      now: ctx.clock(),
    }),
  ),
);

registerStoreCommand('requests.export', async (ctx, args) => {
  const out = await exportRequest(ctx.database.db, createDsrDeps(ctx), {
    tenantId: await tenantOf(ctx, args),
    requestId: requestIdFrom(args.id),
    actor: { type: 'cli' },
    format: args.format,
    category: args.category,
  });
  return ok(out.format === 'json' ? out.bundle : out.body);
});

registerStoreCommand('requests.extend', async (ctx, args) => {
  const tenantId = await tenantOf(ctx, args);
  const requestId = requestIdFrom(args.id);
  const deps = createDsrDeps(ctx);
  return ok(
    await ctx.database.db.transaction().execute((tx) =>
      extendRequest(tx, deps, {
        tenantId,
        requestId,
        days: args.days,
        reasonCode: args.reason,
        actor: { type: 'cli' },
      }),
    ),
  );
});

registerStoreCommand('requests.deny', async (ctx, args) => {
  const tenantId = await tenantOf(ctx, args);
  const requestId = requestIdFrom(args.id);
  const deps = createDsrDeps(ctx);
  return ok(
    await ctx.database.db
      .transaction()
      .execute((tx) =>
        denyRequest(tx, deps, { tenantId, requestId, reasonCode: args.reason, actor: { type: 'cli' } }),
      ),
  );
});

export const defineRequests: CliDefinition = (program, h) => {
  const requests = program.command('requests').description('the privacy-request queue');
  requests
    .command('list')
    .description('requests, earliest due date first: JSON lines (or --table)')
    .option('--status <status>', 'only this status (received, awaiting_verification, ..., completed, denied)')
    .option('--type <type>', 'only this type (erasure, access, rectification, opt_out, restriction)')
    .option('--overdue', 'only open requests past their due date')
    .option('--tenant <id>', 'only this tenant')
    .option('--table', 'a table for people instead of JSON lines')
    .action(
      async (o: { status?: string; type?: string; overdue?: boolean; tenant?: string; table?: boolean }) =>
        h.setExitCode(
          await h.runStore('requests.list', {
            status: o.status,
            type: o.type,
            overdue: o.overdue === true,
            tenant: o.tenant,
            table: o.table === true,
          }),
        ),
    );
  requests
    .command('show')
    .description('one request as JSON: status, deadline, and what each system did')
    .argument('<id>', 'request id')
    .option('--tenant <id>', 'the request must belong to this tenant')
    .action(async (id: string, o: { tenant?: string }) =>
      h.setExitCode(await h.runStore('requests.show', { id, tenant: o.tenant })),
    );
  requests
    .command('proof')
    .description('proof of what was done (no personal data): times, systems, audit events, chain check')
    .argument('<id>', 'request id')
    .option('--tenant <id>', 'the request must belong to this tenant')
    .action(async (id: string, o: { tenant?: string }) =>
      h.setExitCode(await h.runStore('requests.proof', { id, tenant: o.tenant })),
    );
  requests
    .command('export')
    .description('the access bundle of a completed access request (JSON, or one category as CSV)')
    .argument('<id>', 'request id')
    .option('--format <format>', 'json (default) or csv', 'json')
    .option('--category <id>', 'the category a CSV export holds')
    .option('--tenant <id>', 'the request must belong to this tenant')
    .action(async (id: string, o: { format: string; category?: string; tenant?: string }) =>
      h.setExitCode(
        await h.runStore('requests.export', { id, format: o.format, category: o.category, tenant: o.tenant }),
      ),
    );
  requests
    .command('extend')
    .description("extend a request's deadline within the legal maximum; the person is told why")
    .argument('<id>', 'request id')
    .requiredOption('--days <n>', 'days to add (capped at the legal maximum)')
    .requiredOption('--reason <code>', EXTENSION_REASONS.join(' | '))
    .option('--tenant <id>', 'the request must belong to this tenant')
    .action(async (id: string, o: { days: string; reason: string; tenant?: string }) => {
      const days = Number(o.days);
      if (!Number.isInteger(days)) {
        h.io.err('flowguard: --days must be a whole number');
        return h.setExitCode(2);
      }
      h.setExitCode(await h.runStore('requests.extend', { id, days, reason: o.reason, tenant: o.tenant }));
    });
  requests
    .command('deny')
    .description('deny a request that has not been carried out; the person is told')
    .argument('<id>', 'request id')
    .requiredOption('--reason <code>', DENIAL_REASONS.join(' | '))
    .option('--tenant <id>', 'the request must belong to this tenant')
    .action(async (id: string, o: { reason: string; tenant?: string }) =>
      h.setExitCode(await h.runStore('requests.deny', { id, reason: o.reason, tenant: o.tenant })),
    );
};
