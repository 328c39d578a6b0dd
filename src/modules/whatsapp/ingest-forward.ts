import type { ForwardEvent } from '../forwarding/index.js';
import type { ContactEvent, MessageEvent, StatusEvent } from './parse-webhook.js';

/**
 * The pass-through copy of one event in Meta's own change shape, built from the raw items the parser kept
 * (`source`), so a downstream bot sees exactly what Meta sent for this message or status and nothing of
 * other people in the same delivery. Undefined when the event was parsed without sources.
 */
export function forwardEventOf(
  event: MessageEvent | StatusEvent,
  contact: ContactEvent | undefined,
): ForwardEvent | undefined {
  const source = event.source;
  if (!source) return undefined;
  const value: Record<string, unknown> = { messaging_product: 'whatsapp', metadata: source.metadata };
  if (event.kind === 'message') {
    if (contact?.source) value.contacts = [contact.source.item];
    value.messages = [source.item];
  } else {
    value.statuses = [source.item];
  }
  return { wabaId: event.wabaId, field: 'messages', value };
}
