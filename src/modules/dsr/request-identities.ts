import type { Keyring } from '../../lib/crypto/index.js';
import type { Identity } from '../../lib/phone.js';
import type { PrivacyRequestRow } from './dsr.repo.js';

/** A request keeps the person's identities sealed while it needs them to reach the data-map systems. */
export function identitiesAad(requestId: string): string {
  return `privacy_requests.identities.${requestId}`;
}

export function sealIdentities(
  keyring: Pick<Keyring, 'sealSecret'>,
  requestId: string,
  identities: Identity[],
): string {
  return keyring.sealSecret(JSON.stringify(identities), identitiesAad(requestId));
}

export function requestIdentities(
  keyring: Pick<Keyring, 'openSecret'>,
  request: Pick<PrivacyRequestRow, 'id' | 'identities'>,
): Identity[] {
  if (!request.identities) return [];
  return JSON.parse(keyring.openSecret(request.identities, identitiesAad(request.id))) as Identity[];
}
