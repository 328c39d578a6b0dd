import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../lib/db/schema.js';
import type { Metrics } from '../../lib/metrics.js';

export type AlertKind = 'task_dead_lettered' | 'deadline_near' | 'deadline_passed' | 'system_check_failed';

export interface Alert {
  kind: AlertKind;
  /** One line for people; ids, references, system ids and counts only — never personal data. */
  text: string;
  /** Send once per key and kind (e.g. a request id), however often the condition is seen. */
  onceKey?: string;
}

/**
 * Posts alerts to the configured Slack-compatible webhook (`{text}`) and counts them in
 * `flowguard_alerts_total{kind}`. Delivery failures are logged and counted, never thrown: an alert must not
 * break the work that raised it.
 */
export function createAlerter(deps: {
  webhookUrl: string | undefined;
  db: Kysely<DB>;
  logger: Logger;
  metrics: Pick<Metrics, 'alerts'>;
  fetchImpl?: typeof fetch;
}) {
  const doFetch = deps.fetchImpl ?? fetch;
  return {
    async send(alert: Alert): Promise<boolean> {
      if (alert.onceKey) {
        const claimed = await deps.db
          .insertInto('alerts_sent')
          .values({ subject_key: alert.onceKey, kind: alert.kind })
          .onConflict((oc) => oc.columns(['subject_key', 'kind']).doNothing())
          .returning('kind')
          .executeTakeFirst();
        if (!claimed) return false;
      }
      deps.metrics.alerts.inc({ kind: alert.kind });
      deps.logger.warn({ alert: alert.kind }, alert.text);
      if (!deps.webhookUrl) return true;
      try {
        const res = await doFetch(deps.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: `flowguard: ${alert.text}` }),
          signal: AbortSignal.timeout(5_000),
        });
        if (!res.ok) throw new Error(`alert webhook answered ${res.status}`);
      } catch (err) {
        deps.metrics.alerts.inc({ kind: 'delivery_failed' });
        deps.logger.error({ err, alert: alert.kind }, 'alert could not be delivered');
      }
      return true;
    },
  };
}

export type Alerter = ReturnType<typeof createAlerter>;
