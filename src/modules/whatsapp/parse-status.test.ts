import { describe, expect, it } from 'vitest';
import { BS, messagesValue, ofKind, PNID, single, TS, WA, WABA, wamid } from './parse-webhook.fixtures.js';

describe('parseWebhook: statuses', () => {
  it('parses statuses with errors, BSUID recipients and group recipients', () => {
    const r = single(
      messagesValue({
        statuses: [
          {
            id: wamid(1),
            status: 'failed',
            timestamp: TS,
            recipient_id: WA[2],
            errors: [
              { code: 131026, title: 'Message undeliverable', error_data: { details: 'x' } },
              { code: 'x' },
            ],
          },
          { id: wamid(2), status: 'read', timestamp: TS, recipient_user_id: BS[1], recipient_id: WA[1] },
          {
            id: wamid(3),
            status: 'delivered',
            timestamp: TS,
            recipient_id: '120363012345678901',
            recipient_type: 'group',
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'status')).toEqual([
      {
        kind: 'status',
        wabaId: WABA,
        phoneNumberId: PNID,
        id: wamid(1),
        status: 'failed',
        timestamp: new Date(Number(TS) * 1000),
        recipient: { phone: `+${WA[2]}` },
        errorCodes: [131026],
      },
      expect.objectContaining({
        status: 'read',
        recipient: { phone: `+${WA[1]}`, bsuid: BS[1] },
        errorCodes: [],
      }),
      expect.objectContaining({ status: 'delivered', recipient: {} }),
    ]);
  });
});
