import type { Command } from 'commander';
import {
  createDsrDeps,
  createStaffRequest,
  exportRequest,
  parseStaffRequest,
  waitForRequest,
} from '../../modules/dsr/index.js';
import { ok, type CommandResult } from '../command.js';
import type { CliDefinition, CliHelpers } from '../main.js';
import { registerStoreCommand } from '../registry.js';

/** Exit code of `--wait` when the request is still open at the timeout (1 is an error, 2 a usage error). */
export const EXIT_WAIT_TIMEOUT = 4;
const DEFAULT_WAIT_SECONDS = 300;

/**
 * `flowguard erase|export|rectify|opt-out|restrict`: record a privacy request for one person, as staff (channel
 * `cli`). Nothing is done until the person confirms in WhatsApp, except an opt-out, which is carried out at
 * once. `--wait` polls until the request is no longer open and prints its final state (for `export`, the
 * access bundle).
 */
registerStoreCommand('request.create', async (ctx, args): Promise<CommandResult> => {
  const tenant =
    typeof args.tenant === 'string' ? await ctx.tenants.get(args.tenant) : await ctx.tenants.getDefault();
  const request = parseStaffRequest({
    type: args.type,
    phone: args.phone,
    user_id: args.userId,
    scope: args.scope,
    params: args.params,
  });
  const deps = createDsrDeps(ctx);
  const created = await createStaffRequest(ctx.database.db, deps, {
    tenant,
    request,
    channel: 'cli',
    actor: { type: 'cli' },
  });
  const notes = created.joined ? ['joined an open request of the same type for this person'] : [];
  if (args.wait !== true) {
    return ok({ id: created.id, reference: created.reference, status: created.status }, notes);
  }
  const timeoutSeconds = typeof args.timeoutSeconds === 'number' ? args.timeoutSeconds : DEFAULT_WAIT_SECONDS;
  const { view, timedOut } = await waitForRequest(
    ctx.database.db,
    { tenantId: tenant.id, requestId: created.id, clock: ctx.clock },
    { timeoutMs: timeoutSeconds * 1000 },
  );
  if (timedOut) {
    return {
      exitCode: EXIT_WAIT_TIMEOUT,
      output: view,
      notes: [
        ...notes,
        `flowguard: request ${created.reference} is still ${view.status} after ${timeoutSeconds} s`,
      ],
    };
  }
  if (view.type === 'access' && view.status === 'completed') {
    const out = await exportRequest(ctx.database.db, deps, {
      tenantId: tenant.id,
      requestId: created.id,
      actor: { type: 'cli' },
      format: args.format,
      category: args.category,
    });
    return ok(out.format === 'json' ? out.bundle : out.body, notes);
  }
  return ok(view, notes);
});

interface RequestFlags {
  phone?: string;
  userId?: string;
  tenant?: string;
  scope?: string;
  wait?: boolean;
  timeout?: string;
}

function requestCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--phone <e164>', "the person's phone number, +E.164")
    .option('--user-id <bsuid>', "the person's business-scoped user id")
    .option('--tenant <id>', 'tenant (default: the default tenant)')
    .option('--wait', 'wait until the person has confirmed and the request has run; print its final state')
    .option(
      '--timeout <seconds>',
      `how long --wait waits (default ${DEFAULT_WAIT_SECONDS}); exits ${EXIT_WAIT_TIMEOUT} when it runs out`,
    );
}

/** Check the flags every request command shares; undefined (and exit code 2) when they are unusable. */
function commonArgs(h: CliHelpers, name: string, o: RequestFlags): Record<string, unknown> | undefined {
  if ((o.phone === undefined) === (o.userId === undefined)) {
    h.io.err(`flowguard: ${name} needs exactly one of --phone or --user-id`);
    h.setExitCode(2);
    return undefined;
  }
  let timeoutSeconds: number | undefined;
  if (o.timeout !== undefined) {
    timeoutSeconds = Number(o.timeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 86_400) {
      h.io.err('flowguard: --timeout must be a whole number of seconds from 1 to 86400');
      h.setExitCode(2);
      return undefined;
    }
  }
  return {
    phone: o.phone,
    userId: o.userId,
    tenant: o.tenant,
    scope: o.scope,
    wait: o.wait === true,
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  };
}

/** `--set key=value` (repeatable) → {key: value}; values stay text. */
function collectSet(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const defineDsr: CliDefinition = (program, h) => {
  const run = async (type: string, args: Record<string, unknown> | undefined) => {
    if (args) h.setExitCode(await h.runStore('request.create', { ...args, type }));
  };

  requestCommand(
    program,
    'erase',
    'request erasure of what is held about a person; prints JSON {id, reference, status}',
  )
    .option('--scope <scope>', 'all (default), profile, messages, flow_responses, media or delivery_statuses')
    .action(async (o: RequestFlags) => run('erasure', commonArgs(h, 'erase', o)));

  requestCommand(
    program,
    'export',
    "request a copy of a person's data; with --wait, prints the access bundle",
  )
    .option('--format <format>', 'json (default) or csv (with --category)', 'json')
    .option('--category <id>', 'the category a CSV export holds (identity, profile, messages, ...)')
    .action(async (o: RequestFlags & { format: string; category?: string }) => {
      if (o.format !== 'json' && o.format !== 'csv') {
        h.io.err('flowguard: --format must be json or csv');
        return h.setExitCode(2);
      }
      if (o.format === 'csv' && o.category === undefined) {
        h.io.err('flowguard: --format csv needs --category');
        return h.setExitCode(2);
      }
      const args = commonArgs(h, 'export', o);
      await run('access', args && { ...args, format: o.format, category: o.category });
    });

  requestCommand(program, 'rectify', "request a correction of a person's data")
    .option('--profile-name <name>', 'the corrected profile name')
    .option('--flow-response-id <id>', 'a Flow answer to correct (with --set)')
    .option('--set <key=value>', 'a field of that Flow answer (repeatable)', collectSet)
    .action(async (o: RequestFlags & { profileName?: string; flowResponseId?: string; set?: string[] }) => {
      const fields: Record<string, string> = {};
      for (const pair of o.set ?? []) {
        const at = pair.indexOf('=');
        if (at < 1) {
          h.io.err('flowguard: --set takes key=value');
          return h.setExitCode(2);
        }
        fields[pair.slice(0, at)] = pair.slice(at + 1);
      }
      if ((o.flowResponseId === undefined) !== (o.set === undefined)) {
        h.io.err('flowguard: --flow-response-id and --set go together');
        return h.setExitCode(2);
      }
      if (o.profileName === undefined && o.flowResponseId === undefined) {
        h.io.err('flowguard: rectify needs --profile-name and/or --flow-response-id with --set');
        return h.setExitCode(2);
      }
      const params = {
        ...(o.profileName !== undefined ? { profile_name: o.profileName } : {}),
        ...(o.flowResponseId !== undefined ? { flow_response: { id: o.flowResponseId, fields } } : {}),
      };
      const args = commonArgs(h, 'rectify', o);
      await run('rectification', args && { ...args, params });
    });

  requestCommand(
    program,
    'opt-out',
    'stop marketing to a person (carried out at once, no confirmation needed)',
  ).action(async (o: RequestFlags) => run('opt_out', commonArgs(h, 'opt-out', o)));

  requestCommand(program, 'restrict', "restrict processing of a person's data (GDPR Art. 18)").action(
    async (o: RequestFlags) => run('restriction', commonArgs(h, 'restrict', o)),
  );
};
