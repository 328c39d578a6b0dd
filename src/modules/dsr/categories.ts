/**
 * The categories of personal data flowguard itself holds, with what the access report must say about each
 * (GDPR Art. 15(1): purposes, categories, recipients, retention, source). Scopes of a partial erasure are
 * these category ids; `identity` is only erased with `all` (without it the person cannot be recognised).
 */
export interface CategoryInfo {
  id: OwnCategory;
  label: string;
  purpose: string;
  source: string;
  retention: string;
  recipients: string[];
  /** Tables holding it, for counts and erasure. */
  tables: (
    'identities' | 'subjects' | 'messages' | 'flow_responses' | 'media' | 'message_statuses' | 'flow_tokens'
  )[];
}

export type OwnCategory =
  'identity' | 'profile' | 'messages' | 'flow_responses' | 'media' | 'delivery_statuses';

export const ERASABLE_SCOPES = [
  'all',
  'profile',
  'messages',
  'flow_responses',
  'media',
  'delivery_statuses',
] as const;
export type ErasureScope = (typeof ERASABLE_SCOPES)[number];

export const ownCategories: CategoryInfo[] = [
  {
    id: 'identity',
    label: 'WhatsApp identity (phone number, business-scoped user id)',
    purpose: 'Recognise you across conversations and honour your privacy choices',
    source: 'WhatsApp (Meta) webhooks',
    retention: 'Until you ask for erasure or the contact is inactive past the retention period',
    recipients: ['Meta Platforms (WhatsApp Business Platform)'],
    tables: ['identities', 'flow_tokens'],
  },
  {
    id: 'profile',
    label: 'WhatsApp profile name',
    purpose: 'Address you by name in conversations',
    source: 'WhatsApp (Meta) webhooks',
    retention: 'As long as the identity',
    recipients: [],
    tables: ['subjects'],
  },
  {
    id: 'messages',
    label: 'Messages (time and type; content only where the business keeps it)',
    purpose: 'Conduct the conversation you started',
    source: 'You, through WhatsApp',
    retention: 'Per the business retention policy for messages',
    recipients: ['Meta Platforms (WhatsApp Business Platform)'],
    tables: ['messages'],
  },
  {
    id: 'flow_responses',
    label: 'Answers you gave in WhatsApp Flows',
    purpose: 'Provide the service the Flow was for',
    source: 'You, through WhatsApp Flows',
    retention: 'Per the business retention policy for flow responses',
    recipients: [],
    tables: ['flow_responses'],
  },
  {
    id: 'media',
    label: 'Media you sent (references, hashes, captions)',
    purpose: 'Conduct the conversation you started',
    source: 'You, through WhatsApp',
    retention: 'Per the business retention policy for media',
    recipients: ['Meta Platforms (WhatsApp Business Platform)'],
    tables: ['media'],
  },
  {
    id: 'delivery_statuses',
    label: 'Delivery and read receipts of messages sent to you',
    purpose: 'Know whether messages reached you',
    source: 'WhatsApp (Meta) webhooks',
    retention: 'Per the business retention policy for messages',
    recipients: [],
    tables: ['message_statuses'],
  },
];
