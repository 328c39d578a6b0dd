/**
 * Every queue flowguard uses, with its retry policy. A queue's failed jobs land in its dead-letter queue
 * (`<name>.dead`), which the admin can list and replay.
 */
export interface QueueSpec {
  name: string;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  /**
   * How long one attempt may run. pg-boss fails (and retries) an active job past it, and that is also how the
   * job of a worker process that died mid-task gets back to a live worker, so it trades recovery time against
   * the risk of declaring a slow but healthy attempt dead (which would then run twice). YAML
   * `queues: {<name>: {expireInSeconds}}` overrides it.
   */
  expireInSeconds: number;
  policy?: 'standard' | 'singleton' | 'short' | 'stately';
}

export const queueCatalog: QueueSpec[] = [
  // Scheduled: deadline escalation (every 15 min) and the data-map self-check (daily by default).
  { name: 'deadlines.check', retryLimit: 1, retryDelay: 60, retryBackoff: false, expireInSeconds: 600 },
  { name: 'datamap.selfcheck', retryLimit: 1, retryDelay: 300, retryBackoff: false, expireInSeconds: 900 },
  // Retention sweep (hourly by default): at most one waiting job ('short'); one sweep at a time is the sweep's
  // own lease (modules/retention), since a sweep may outlast a tick. A run stops itself after maxRunMinutes.
  {
    name: 'retention.sweep',
    retryLimit: 1,
    retryDelay: 300,
    retryBackoff: false,
    expireInSeconds: 4 * 3600,
    policy: 'short',
  },
  // One job per request × data-map system; ~8 attempts over ~2 h with exponential backoff and jitter.
  { name: 'connector.run', retryLimit: 8, retryDelay: 15, retryBackoff: true, expireInSeconds: 900 },
  // Crypto-shredding: delete erased subjects' keys from the key store right after the erasure commits. `short`
  // keeps one queued job however many erasures ask; each run drains the whole erasure journal.
  {
    name: 'keys.shred',
    retryLimit: 20,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds: 600,
    policy: 'short',
  },
  // Media store (tenant setting storeMedia): download one inbound file (Graph API media URLs live 5 minutes and
  // media ids 7 days, so ~6 attempts over ~30 min, then the dead-letter queue), delete one stored file (an
  // erasure asks after its commit), and drain the deletion journal a trigger fills (retention, tenant removal).
  { name: 'media.fetch', retryLimit: 6, retryDelay: 30, retryBackoff: true, expireInSeconds: 900 },
  { name: 'media.delete', retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 120 },
  {
    name: 'media.sweep',
    retryLimit: 5,
    retryDelay: 30,
    retryBackoff: true,
    expireInSeconds: 900,
    policy: 'short',
  },
  // WhatsApp messages to a person about their request (confirmation, completion), through the Graph API.
  { name: 'notify.send', retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 },
  // Queues notify.send for notification rows written without their job (modules/dsr/notify-relay.ts): every
  // minute as the safety net of the wake-up on commit; at most one waiting ('short').
  {
    name: 'notify.relay',
    retryLimit: 2,
    retryDelay: 10,
    retryBackoff: false,
    expireInSeconds: 120,
    policy: 'short',
  },
  // Pass-through delivery of verified events, drained in order per conversation. One drain at a time per
  // conversation is enforced by a lease on the head row (modules/forwarding), not by a pg-boss singleton policy:
  // in pg-boss 10 a queued job whose singleton key is active makes every fetch fail, stalling all conversations.
  // Retries after 1-2 s, then doubling (up to about 9 h in all) before the dead-letter queue.
  {
    name: 'forward.drain',
    retryLimit: 14,
    retryDelay: 1,
    retryBackoff: true,
    expireInSeconds: 120,
    policy: 'standard',
  },
];

export function deadLetterName(queue: string): string {
  return `${queue}.dead`;
}
