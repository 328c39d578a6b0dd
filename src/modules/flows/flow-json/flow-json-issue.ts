/**
 * One rule a Flow JSON document breaks, named so a developer can find it: the rule, the screen, where in the
 * document, and what is wrong. The rules come from Meta's Flow JSON and Components references (see
 * validate-flow-json.ts) and from PROTOCOL.md.
 */
export type FlowJsonRule =
  | 'structure'
  | 'version'
  | 'data_api_version'
  | 'screen_id'
  | 'routing_model'
  | 'terminal'
  | 'layout'
  | 'component'
  | 'component_limit'
  | 'footer'
  | 'action'
  | 'data_model'
  | 'data_reference'
  | 'form_reference';

export interface FlowJsonIssue {
  rule: FlowJsonRule;
  /** The screen the problem is on, when it is on one. */
  screen?: string | undefined;
  /** JSON path of the offending value, e.g. `screens[1].layout.children[3].label`. */
  path: string;
  message: string;
}

export function formatIssue(issue: FlowJsonIssue): string {
  const where = issue.screen ? ` screen ${issue.screen}` : '';
  return `${issue.rule}${where}: ${issue.message} (at ${issue.path})`;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
