import type { FlowContext, ScreenContext } from './flow-context.js';
import { isObject, type Json } from './flow-json-issue.js';

/**
 * Rules for the actions of interactive components (Meta, Flow JSON reference "Actions"):
 * - `navigate` needs `next: {type: "screen", name}` naming an existing screen; with a routing model the move
 *   must be one of the current screen's edges; it must not be used on a terminal screen's Footer.
 * - `data_exchange` needs a data endpoint (`data_api_version`).
 * - `complete` ends the Flow: only on a terminal screen.
 * - `open_url` (6.0+) takes a `url` and no payload, on EmbeddedLink and OptIn only.
 * - `update_data` (6.0+) changes the screen's own data.
 * - `payload`, when present, is an object.
 */

export const ACTION_NAMES = ['navigate', 'data_exchange', 'complete', 'update_data', 'open_url'] as const;

export function checkAction(
  action: Json | undefined,
  path: string,
  componentType: string,
  screen: ScreenContext,
  flow: FlowContext,
): void {
  const issue = (message: string, at = path) =>
    flow.report({ rule: 'action', screen: screen.id, path: at, message });
  if (!isObject(action)) return issue(`${componentType} action must be an object with a name`);
  const name = action.name;
  if (typeof name !== 'string' || !(ACTION_NAMES as readonly string[]).includes(name)) {
    return issue(
      `unknown action ${JSON.stringify(name)}; allowed: ${ACTION_NAMES.join(', ')}`,
      `${path}.name`,
    );
  }
  if (action.payload !== undefined && !isObject(action.payload)) {
    issue('payload must be a JSON object', `${path}.payload`);
  }
  switch (name) {
    case 'navigate': {
      const next = action.next;
      const target = isObject(next) && next.type === 'screen' ? next.name : undefined;
      if (typeof target !== 'string') {
        return issue('navigate needs next: {"type": "screen", "name": <screen id>}', `${path}.next`);
      }
      if (!flow.screens.has(target))
        return issue(`navigate targets unknown screen ${target}`, `${path}.next`);
      if (target === screen.id) return issue('navigate cannot target its own screen', `${path}.next`);
      if (flow.routing && !(flow.routing.get(screen.id) ?? []).includes(target)) {
        issue(`navigate to ${target} is not an edge of routing_model.${screen.id}`, `${path}.next`);
      }
      if (screen.terminal && componentType === 'Footer') {
        issue('a terminal screen Footer must not navigate: it would keep the Flow from ending');
      }
      return;
    }
    case 'data_exchange':
      if (!flow.endpoint)
        issue('data_exchange needs a data endpoint: set data_api_version and routing_model');
      return;
    case 'complete':
      if (!screen.terminal) issue('complete ends the Flow and is only allowed on a terminal screen');
      return;
    case 'open_url':
      if (componentType !== 'EmbeddedLink' && componentType !== 'OptIn') {
        issue('open_url is only allowed on EmbeddedLink and OptIn');
      }
      if (typeof action.url !== 'string' || !/^https?:\/\/\S+$/.test(action.url)) {
        issue('open_url needs an http(s) url', `${path}.url`);
      }
      if (action.payload !== undefined) issue('open_url takes no payload', `${path}.payload`);
      return;
    case 'update_data':
      return;
  }
}
