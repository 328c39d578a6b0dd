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
  // Pass-through delivery of verified events, drained in order per conversation (one active drain per key).
  {
    name: 'forward.drain',
    retryLimit: 12,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds: 120,
    policy: 'singleton',
  },
];

export function deadLetterName(queue: string): string {
  return `${queue}.dead`;
}
