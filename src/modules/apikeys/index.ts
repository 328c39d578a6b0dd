export { API_KEY_ROLES, apiKeyPrefix, isApiKeyRole, type ApiKeyRole } from './api-key-format.js';
export { authenticateApiKey, type ApiKeyPrincipal } from './authenticate-api-key.js';
export { createApiKey, type CreateApiKeyInput, type CreatedApiKey } from './create-api-key.js';
export { listApiKeys, type ApiKeySummary } from './list-api-keys.js';
export { apiKeyOf, requireApiKey } from './require-api-key.js';
export { revokeApiKey } from './revoke-api-key.js';
