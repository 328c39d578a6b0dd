/**
 * Every queue flowguard uses, with its retry policy. A queue's failed jobs land in its dead-letter queue
 * (`<name>.dead`), which the admin can list and replay.
 */
export interface QueueSpec {
  name: string;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  policy?: 'standard' | 'singleton' | 'short' | 'stately';
}

export const queueCatalog: QueueSpec[] = [
  // Scheduled: deadline escalation (every 15 min) and the data-map self-check (daily by default).
  { name: 'deadlines.check', retryLimit: 1, retryDelay: 60, retryBackoff: false, expireInSeconds: 600 },
  { name: 'datamap.selfcheck', retryLimit: 1, retryDelay: 300, retryBackoff: false, expireInSeconds: 900 },
  // One job per request × data-map system; ~8 attempts over ~2 h with exponential backoff and jitter.
  { name: 'connector.run', retryLimit: 8, retryDelay: 15, retryBackoff: true, expireInSeconds: 900 },
  // WhatsApp messages to a person about their request (confirmation, completion), through the Graph API.
  { name: 'notify.send', retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 },
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
