import { checkComponent, INPUT_COMPONENTS, PER_SCREEN_MAX } from './component-rules.js';
import type { FlowContext, ScreenContext } from './flow-context.js';
import { formatIssue, isObject, type FlowJsonIssue, type Json, type JsonObject } from './flow-json-issue.js';
import { checkDataModel, checkReferences } from './data-rules.js';
import { checkRouting } from './routing-rules.js';

/**
 * Static checks of a Flow JSON document before it is uploaded to Meta, so a broken Flow fails in CI and not
 * in the Flow Builder or on a person's phone. Sources: Meta's "Flow JSON" and "Components" references (Flow
 * JSON 7.x) and PROTOCOL.md. Covers the document's shape, versions, screen ids, the routing model
 * (routing-rules.ts), terminal screens and their Footer, component limits (component-rules.ts), actions
 * (actions.ts), the screens' data declarations and every `${data.x}`, `${form.x}` and `${screen.X...}` reference.
 */

export const SUPPORTED_FLOW_JSON_VERSIONS = ['7.0', '7.1', '7.2', '7.3'] as const;
export const DATA_API_VERSIONS = ['3.0', '4.0'] as const;
export const RESERVED_SCREEN_IDS = ['SUCCESS'] as const;

const TOP_LEVEL_KEYS = new Set(['version', 'data_api_version', 'routing_model', 'screens']);
const SCREEN_KEYS = new Set([
  'id',
  'title',
  'terminal',
  'success',
  'refresh_on_back',
  'data',
  'layout',
  'sensitive',
]);
const SCREEN_ID = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

export interface FlowJsonValidation {
  ok: boolean;
  issues: FlowJsonIssue[];
  /** One line per issue: `rule screen ID: message (at path)`. */
  messages: string[];
}

interface Walked {
  component: JsonObject;
  path: string;
}

export function validateFlowJson(doc: unknown): FlowJsonValidation {
  const issues: FlowJsonIssue[] = [];
  const report = (issue: FlowJsonIssue) => void issues.push(issue);
  const done = (): FlowJsonValidation => ({
    ok: issues.length === 0,
    issues,
    messages: issues.map(formatIssue),
  });

  if (!isObject(doc)) {
    report({ rule: 'structure', path: '$', message: 'a Flow JSON document is a JSON object' });
    return done();
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.has(key))
      report({ rule: 'structure', path: key, message: `unknown top-level key ${key}` });
  }
  if (!(SUPPORTED_FLOW_JSON_VERSIONS as readonly Json[]).includes(doc.version ?? null)) {
    report({
      rule: 'version',
      path: 'version',
      message: `version must be one of ${SUPPORTED_FLOW_JSON_VERSIONS.join(', ')} (a string), got ${JSON.stringify(doc.version)}`,
    });
  }
  const endpoint = doc.data_api_version !== undefined;
  if (endpoint && !(DATA_API_VERSIONS as readonly Json[]).includes(doc.data_api_version ?? null)) {
    report({
      rule: 'data_api_version',
      path: 'data_api_version',
      message: `data_api_version must be one of ${DATA_API_VERSIONS.join(', ')}`,
    });
  }
  if (endpoint && doc.routing_model === undefined) {
    report({
      rule: 'routing_model',
      path: 'routing_model',
      message: 'a Flow with a data endpoint needs a routing_model',
    });
  }
  if (!endpoint && doc.routing_model !== undefined) {
    report({
      rule: 'data_api_version',
      path: 'data_api_version',
      message: 'a routing_model is only used with a data endpoint: set data_api_version',
    });
  }
  if (!Array.isArray(doc.screens) || doc.screens.length === 0) {
    report({ rule: 'structure', path: 'screens', message: 'screens must be a non-empty array' });
    return done();
  }

  const screens = new Map<string, ScreenContext>();
  const layouts = new Map<string, Walked[]>();
  const footers = new Map<string, number>();
  doc.screens.forEach((raw, i) => {
    const path = `screens[${i}]`;
    const screen = readScreen(raw, path, endpoint, screens, report);
    if (!screen) return;
    screens.set(screen.id, screen);
    const children = isObject(raw) && isObject(raw.layout) ? raw.layout.children : undefined;
    const walked: Walked[] = [];
    walk(children, `${path}.layout.children`, walked, screen.id, report);
    layouts.set(screen.id, walked);
    footers.set(screen.id, Array.isArray(children) ? footerCount(children) : 0);
    for (const { component } of walked) {
      if (typeof component.type === 'string' && INPUT_COMPONENTS.has(component.type)) {
        const name = component.name;
        if (typeof name !== 'string') continue;
        if (screen.inputs.has(name)) {
          report({ rule: 'component', screen: screen.id, path, message: `two inputs are named ${name}` });
        }
        screen.inputs.add(name);
      }
    }
  });

  const flow: FlowContext = {
    endpoint,
    routing: checkRouting(doc.routing_model, screens, report),
    screens,
    report,
  };
  if (![...screens.values()].some((s) => s.terminal)) {
    report({ rule: 'terminal', path: 'screens', message: 'at least one screen must be terminal: true' });
  }
  for (const screen of screens.values()) {
    checkDataModel(screen, report);
    const walked = layouts.get(screen.id) ?? [];
    checkScreenLimits(screen, walked, footers.get(screen.id) ?? 0, report);
    for (const { component, path } of walked) {
      checkComponent(component, path, screen, flow);
      checkReferences(component, path, screen, flow);
    }
  }
  return done();
}

function readScreen(
  raw: Json,
  path: string,
  endpoint: boolean,
  seen: ReadonlyMap<string, ScreenContext>,
  report: (issue: FlowJsonIssue) => void,
): ScreenContext | undefined {
  if (!isObject(raw)) {
    report({ rule: 'structure', path, message: 'a screen is a JSON object' });
    return undefined;
  }
  const id = raw.id;
  if (typeof id !== 'string' || !SCREEN_ID.test(id)) {
    report({
      rule: 'screen_id',
      path: `${path}.id`,
      message: `screen id must be UPPER_SNAKE_CASE, got ${JSON.stringify(id)}`,
    });
    return undefined;
  }
  const issue = (rule: FlowJsonIssue['rule'], message: string, at = path) =>
    report({ rule, screen: id, path: at, message });
  if ((RESERVED_SCREEN_IDS as readonly string[]).includes(id)) {
    issue('screen_id', `${id} is reserved (the endpoint answers it to complete the Flow)`, `${path}.id`);
  }
  if (seen.has(id)) issue('screen_id', `screen id ${id} is used twice`, `${path}.id`);
  for (const key of Object.keys(raw)) {
    if (!SCREEN_KEYS.has(key)) issue('structure', `unknown screen key ${key}`, `${path}.${key}`);
  }
  const terminal = raw.terminal === true;
  if (raw.terminal !== undefined && typeof raw.terminal !== 'boolean') {
    issue('terminal', 'terminal must be a boolean', `${path}.terminal`);
  }
  if (raw.success !== undefined && !terminal) {
    issue('terminal', 'success only applies to a terminal screen', `${path}.success`);
  }
  if (raw.refresh_on_back !== undefined && !endpoint) {
    issue('data_api_version', 'refresh_on_back needs a data endpoint', `${path}.refresh_on_back`);
  }
  if (raw.data !== undefined && !isObject(raw.data))
    issue('data_model', 'data must be an object', `${path}.data`);
  const layout = raw.layout;
  if (!isObject(layout) || layout.type !== 'SingleColumnLayout' || !Array.isArray(layout.children)) {
    issue('layout', 'layout must be {"type": "SingleColumnLayout", "children": [...]}', `${path}.layout`);
  }
  return { id, path, terminal, data: isObject(raw.data) ? raw.data : {}, inputs: new Set() };
}

/** Flatten a screen's components, entering Form children, If branches and Switch cases. */
function walk(
  children: Json | undefined,
  path: string,
  out: Walked[],
  screen: string,
  report: (i: FlowJsonIssue) => void,
) {
  if (!Array.isArray(children)) return;
  children.forEach((c, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(c))
      return report({ rule: 'component', screen, path: at, message: 'a component is a JSON object' });
    out.push({ component: c, path: at });
    walk(c.children, `${at}.children`, out, screen, report);
    walk(c.then, `${at}.then`, out, screen, report);
    walk(c.else, `${at}.else`, out, screen, report);
    if (isObject(c.cases)) {
      for (const [k, v] of Object.entries(c.cases)) walk(v, `${at}.cases.${k}`, out, screen, report);
    }
  });
}

/** Footers shown at once: an If or Switch shows one branch, so it counts as its largest branch. */
function footerCount(children: Json[]): number {
  let n = 0;
  for (const c of children) {
    if (!isObject(c)) continue;
    if (c.type === 'Footer') n += 1;
    else if (c.type === 'Form' && Array.isArray(c.children)) n += footerCount(c.children);
    else if (c.type === 'If') {
      n += Math.max(...[c.then, c.else].map((b) => (Array.isArray(b) ? footerCount(b) : 0)));
    } else if (c.type === 'Switch' && isObject(c.cases)) {
      n += Math.max(0, ...Object.values(c.cases).map((b) => (Array.isArray(b) ? footerCount(b) : 0)));
    }
  }
  return n;
}

function checkScreenLimits(
  screen: ScreenContext,
  walked: Walked[],
  footers: number,
  report: (i: FlowJsonIssue) => void,
) {
  const limit = (message: string, rule: FlowJsonIssue['rule'] = 'component_limit') =>
    report({ rule, screen: screen.id, path: `${screen.path}.layout`, message });
  if (walked.length > PER_SCREEN_MAX.components) {
    limit(`${walked.length} components; the limit is ${PER_SCREEN_MAX.components} per screen`);
  }
  for (const type of ['OptIn', 'EmbeddedLink'] as const) {
    const n = walked.filter((w) => w.component.type === type).length;
    if (n > PER_SCREEN_MAX[type])
      limit(`${n} ${type} components; the limit is ${PER_SCREEN_MAX[type]} per screen`);
  }
  if (footers > PER_SCREEN_MAX.Footer)
    limit(`${footers} Footers shown at once; a screen has at most one`, 'footer');
  if (screen.terminal && !walked.some((w) => w.component.type === 'Footer')) {
    limit('a terminal screen must have a Footer', 'footer');
  }
}
