import type { TenantRegistry, Tenant } from '../tenants/index.js';
import type { WebhookEvent } from './parse-webhook.js';

export interface RoutedEvent {
  tenant: Tenant;
  event: WebhookEvent;
}

/**
 * Tenant isolation: an event belongs to the tenant that owns its `metadata.phone_number_id`, and is accepted only
 * when that tenant's app secret signed the delivery. A payload signed with tenant A's secret and addressed to
 * tenant B's number is refused, so no tenant can inject events into another.
 * Events without a phone_number_id (some `user_id_update` / `user_preferences` shapes) go to the signing tenant
 * whose WABA id matches the entry, or to the only signing tenant.
 */
export async function routeEvents(
  tenants: Pick<TenantRegistry, 'byPhoneNumberId'>,
  signers: readonly Tenant[],
  events: readonly WebhookEvent[],
): Promise<{ routed: RoutedEvent[]; unrouted: WebhookEvent[] }> {
  const signerIds = new Set(signers.map((t) => t.id));
  const byNumber = new Map<string, Tenant | undefined>();
  const routed: RoutedEvent[] = [];
  const unrouted: WebhookEvent[] = [];
  for (const event of events) {
    let tenant: Tenant | undefined;
    if (event.phoneNumberId !== undefined) {
      if (!byNumber.has(event.phoneNumberId)) {
        byNumber.set(event.phoneNumberId, await tenants.byPhoneNumberId(event.phoneNumberId));
      }
      tenant = byNumber.get(event.phoneNumberId);
    } else {
      const byWaba = signers.filter((t) => t.businessAccountId === event.wabaId);
      tenant = byWaba.length === 1 ? byWaba[0] : signers.length === 1 ? signers[0] : undefined;
    }
    if (tenant && signerIds.has(tenant.id)) routed.push({ tenant, event });
    else unrouted.push(event);
  }
  return { routed, unrouted };
}
