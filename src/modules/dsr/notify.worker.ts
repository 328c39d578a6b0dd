import type { Job } from 'pg-boss';
import type { AppContext } from '../../app/context.js';
import type { Identity } from '../../lib/phone.js';
import {
  createGraphClient,
  GraphApiError,
  type GraphClient,
  type OutgoingMessage,
} from '../whatsapp/graph-client.js';
import type { NotificationKind } from './notify.js';
import { recipientAad } from './notify.js';
import { withExportLink } from './export-links.js';
import { RELAY_QUEUE, relayNotifications } from './notify-relay.js';

const WHAT: Record<string, string> = {
  erasure: 'delete the data we hold about you',
  access: 'send you a copy of the data we hold about you',
  rectification: 'correct the data we hold about you',
  opt_out: 'stop marketing messages to you',
  restriction: 'restrict how we use your data',
};

const DONE: Record<string, string> = {
  erasure: 'The data we held about you has been deleted.',
  access: 'Your copy of your data is ready.',
  rectification: 'Your data has been corrected.',
  opt_out: 'You will receive no more marketing messages from us.',
  restriction: 'We have restricted how we use your data.',
};

const EXTENSION_WHY: Record<string, string> = {
  complexity: ' because it is complex',
  number_of_requests: ' because we have received many requests',
  awaiting_information: ' because we are waiting for information we need to answer it',
};

export function composeNotification(
  kind: NotificationKind,
  params: Record<string, unknown>,
): OutgoingMessage {
  const ref = String(params.reference ?? '');
  const what = WHAT[String(params.request_type)] ?? 'act on your privacy request';
  switch (kind) {
    case 'confirm_request':
      return {
        type: 'buttons',
        body: `We received a request to ${what} (reference ${ref}). If you made it, tap Confirm. If you did not, ignore this message and nothing will happen.`,
        buttons: [{ id: String(params.confirm_id), title: 'Confirm' }],
      };
    case 'request_completed':
      return {
        type: 'text',
        body: `Your privacy request ${ref} is complete. ${DONE[String(params.request_type)] ?? ''}`.trim(),
      };
    case 'access_ready':
      return {
        type: 'text',
        body: `Your privacy request ${ref} is complete. ${DONE.access}${params.url ? ` ${String(params.url)}` : ''}`,
      };
    case 'request_extended':
      return {
        type: 'text',
        body: `We need more time to answer your privacy request ${ref}${EXTENSION_WHY[String(params.reason)] ?? ''}. We will answer by ${String(params.due_date ?? '')}.`,
      };
    case 'request_denied':
      return {
        type: 'text',
        body: `We could not carry out your privacy request ${ref}. Reply to this message to ask why.`,
      };
  }
}

/**
 * Send one queued notification through the Graph API and delete it. Retryable failures (throttling, 5xx,
 * network) throw so the queue backs off and retries; permanent ones are dropped and counted, never retried
 * forever. The recipient never appears in the job payload or the logs.
 */
export async function sendNotification(
  ctx: Pick<AppContext, 'database' | 'keyring' | 'tenants' | 'logger'>,
  graph: GraphClient,
  notificationId: string,
): Promise<'sent' | 'dropped' | 'missing'> {
  const row = await ctx.database.db
    .selectFrom('outbound_notifications')
    .selectAll()
    .where('id', '=', notificationId)
    .executeTakeFirst();
  if (!row) return 'missing';
  const tenant = await ctx.tenants.get(row.tenant_id).catch(() => undefined);
  const drop = async (reason: string) => {
    ctx.logger.warn({ notification: notificationId, kind: row.kind, reason }, 'notification dropped');
    await ctx.database.db.deleteFrom('outbound_notifications').where('id', '=', notificationId).execute();
    return 'dropped' as const;
  };
  if (!tenant?.phoneNumberId || !tenant.secrets.accessToken)
    return drop('tenant has no phone number id or access token');
  const to = JSON.parse(ctx.keyring.openSecret(row.recipient, recipientAad(row.id))) as Identity;
  try {
    await graph.sendMessage(
      { phoneNumberId: tenant.phoneNumberId, accessToken: tenant.secrets.accessToken },
      to,
      composeNotification(row.kind as NotificationKind, withExportLink(ctx.keyring, row)),
    );
  } catch (err) {
    if (err instanceof GraphApiError && !err.retryable)
      return drop(`graph api ${err.status} ${err.code ?? ''}`.trim());
    await ctx.database.db
      .updateTable('outbound_notifications')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', notificationId)
      .execute();
    throw err;
  }
  await ctx.database.db.deleteFrom('outbound_notifications').where('id', '=', notificationId).execute();
  return 'sent';
}

/**
 * The send worker, and the relay that queues its jobs (notify-relay.ts): run when notification rows are
 * committed, at start (rows a crash left unqueued) and every minute (a wake-up lost with a connection).
 */
export async function startNotifyWorker(ctx: AppContext): Promise<void> {
  const graph = createGraphClient({ baseUrl: ctx.config.graphUrl });
  await ctx.queue.work<{ notificationId: string }>(
    'notify.send',
    { pollingIntervalSeconds: 0.5, batchSize: 1 }, // one per job: a failure must not resend others
    async (jobs: Job<{ notificationId: string }>[]) => {
      for (const job of jobs) await sendNotification(ctx, graph, job.data.notificationId);
    },
  );
  const relay = () => relayNotifications(ctx.database.db, ctx.queue);
  await ctx.queue.boss.schedule(RELAY_QUEUE, '* * * * *', {}, { tz: 'UTC' });
  await ctx.queue.work(RELAY_QUEUE, { pollingIntervalSeconds: 2, batchSize: 1 }, async () => {
    await relay();
  });
  await ctx.queue.onCommitted('outbound_notifications', relay);
  await relay();
}
