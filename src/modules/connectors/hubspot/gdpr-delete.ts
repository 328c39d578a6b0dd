import { assertOk, type HubSpotClient } from './client.js';

/**
 * Permanently delete contacts with `POST /crm/v3/objects/contacts/gdpr-delete {objectId}` (HubSpot: "permanently
 * delete a contact and all associated content to follow GDPR"; 204, no body). A 404 means the contact is
 * already gone (an earlier attempt succeeded), which keeps erasing idempotent. Sequential on purpose: HubSpot
 * rate-limits per token, and a person rarely has more than a few contacts.
 */
export async function gdprDeleteContacts(client: HubSpotClient, contactIds: string[]): Promise<number> {
  let deleted = 0;
  for (const objectId of contactIds) {
    const res = await client.post('/crm/v3/objects/contacts/gdpr-delete', { objectId });
    assertOk(res, 'gdpr_delete', [200, 204, 404]);
    if (res.status !== 404) deleted++;
  }
  return deleted;
}
