import { describe, expect, it } from 'vitest';
import { describeSummary } from './privacy-center.js';
import {
  dispatchFlowScreen,
  flowHandlersFor,
  registerFlowHandler,
  type FlowHandler,
  type FlowHandlerDeps,
  type FlowScreenRequest,
} from './screen-handlers.js';

const request = (action: FlowScreenRequest['action'], screen?: string) =>
  ({
    action,
    screen,
    data: {},
    subjectId: 's',
    tokenId: 't',
    flowToken: 'x',
  }) as unknown as FlowScreenRequest;
const deps = {} as FlowHandlerDeps;

describe('flow screen handler registry', () => {
  it('asks the most recent handler of a purpose first and falls through on undefined', async () => {
    const home: FlowHandler = async (req) => ({ screen: 'HOME', data: { from: req.screen ?? null } });
    const confirm: FlowHandler = async (req) =>
      req.action === 'data_exchange' && req.screen === 'CONFIRM' ? { screen: 'DONE', data: {} } : undefined;
    registerFlowHandler('unit_test_purpose', home);
    registerFlowHandler('unit_test_purpose', confirm);
    registerFlowHandler('unit_test_purpose', confirm);
    expect(flowHandlersFor('unit_test_purpose')).toEqual([confirm, home]);
    expect(await dispatchFlowScreen('unit_test_purpose', request('data_exchange', 'CONFIRM'), deps)).toEqual({
      screen: 'DONE',
      data: {},
    });
    expect(await dispatchFlowScreen('unit_test_purpose', request('INIT'), deps)).toEqual({
      screen: 'HOME',
      data: { from: null },
    });
    expect(await dispatchFlowScreen('no_such_purpose', request('INIT'), deps)).toBeUndefined();
  });

  it('summarises counts in one sentence, singular and plural', () => {
    expect(
      describeSummary({ messages: 1, flow_responses: 0, media: 2, identities: 1, has_profile_name: false }),
    ).toBe('We hold 1 message, 0 form responses, 2 media files, 1 identifier (phone number or user id).');
    expect(
      describeSummary({ messages: 0, flow_responses: 1, media: 0, identities: 2, has_profile_name: true }),
    ).toMatch(/1 form response, .*2 identifiers .*, and your WhatsApp profile name\.$/);
  });
});
