import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowJsonRule, Json, JsonObject } from './flow-json-issue.js';
import { validateFlowJson } from './validate-flow-json.js';

const SHIPPED = JSON.parse(
  fs.readFileSync(new URL('../../../../flows/privacy-center.json', import.meta.url), 'utf8'),
) as JsonObject;

type Screen = { id: string; terminal?: boolean; data?: JsonObject; layout: { children: JsonObject[] } };
type Flow = JsonObject & { screens: Screen[]; routing_model?: Record<string, string[]> };

function copy(): Flow {
  return structuredClone(SHIPPED) as Flow;
}
const screen = (f: Flow, id: string): Screen => {
  const s = f.screens.find((x) => x.id === id);
  if (!s) throw new Error(`no screen ${id}`);
  return s;
};
const component = (f: Flow, id: string, type: string): JsonObject => {
  const c = screen(f, id).layout.children.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} on ${id}`);
  return c;
};
const options = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `o${i}`, title: `Option ${i}` }));

const cases: [string, (f: Flow) => void, FlowJsonRule, string | undefined, RegExp][] = [
  ['an unsupported version', (f) => void (f.version = '6.0'), 'version', undefined, /7\.0, 7\.1, 7\.2, 7\.3/],
  [
    'a routing model without data_api_version',
    (f) => void delete f.data_api_version,
    'data_api_version',
    undefined,
    /routing_model is only used with a data endpoint/,
  ],
  [
    'a data endpoint without a routing model',
    (f) => void delete f.routing_model,
    'routing_model',
    undefined,
    /needs a routing_model/,
  ],
  [
    'a screen id that is not UPPER_SNAKE',
    (f) => void (screen(f, 'DONE').id = 'done'),
    'screen_id',
    undefined,
    /UPPER_SNAKE_CASE, got "done"/,
  ],
  [
    'the reserved SUCCESS screen id',
    (f) => {
      screen(f, 'DONE').id = 'SUCCESS';
      f.routing_model = {
        PRIVACY_HOME: ['CONFIRM_DELETE', 'MY_DATA', 'SUCCESS'],
        CONFIRM_DELETE: ['SUCCESS'],
        MY_DATA: [],
        SUCCESS: [],
      };
    },
    'screen_id',
    'SUCCESS',
    /reserved/,
  ],
  [
    'a route to its own screen',
    (f) => void f.routing_model!.CONFIRM_DELETE!.push('CONFIRM_DELETE'),
    'routing_model',
    'CONFIRM_DELETE',
    /cannot lead to its own screen/,
  ],
  [
    'a route to a screen that does not exist',
    (f) => void f.routing_model!.PRIVACY_HOME!.push('NOWHERE'),
    'routing_model',
    'PRIVACY_HOME',
    /"NOWHERE": no such screen/,
  ],
  [
    'a screen missing from the routing model',
    (f) => void delete f.routing_model!.MY_DATA,
    'routing_model',
    'MY_DATA',
    /missing from routing_model/,
  ],
  [
    'a backward route that makes a cycle',
    (f) => void f.routing_model!.DONE!.push('PRIVACY_HOME'),
    'routing_model',
    'PRIVACY_HOME',
    /only forward routes.*PRIVACY_HOME -> .*DONE -> PRIVACY_HOME/,
  ],
  [
    'a screen whose routes never reach a terminal screen',
    (f) => void (f.routing_model!.CONFIRM_DELETE = []),
    'routing_model',
    'CONFIRM_DELETE',
    /no route from CONFIRM_DELETE ends at a terminal screen/,
  ],
  [
    'no terminal screen at all',
    (f) => {
      for (const s of f.screens) {
        delete s.terminal;
        delete (s as JsonObject).success;
      }
    },
    'terminal',
    undefined,
    /at least one screen must be terminal/,
  ],
  [
    'a terminal screen without a Footer',
    (f) =>
      void (screen(f, 'DONE').layout.children = screen(f, 'DONE').layout.children.filter(
        (c) => c.type !== 'Footer',
      )),
    'footer',
    'DONE',
    /terminal screen must have a Footer/,
  ],
  [
    'two Footers on one screen',
    (f) =>
      void screen(f, 'PRIVACY_HOME').layout.children.push(
        structuredClone(component(f, 'PRIVACY_HOME', 'Footer')),
      ),
    'footer',
    'PRIVACY_HOME',
    /2 Footers shown at once/,
  ],
  [
    'a navigate action off the routing model',
    (f) =>
      void screen(f, 'CONFIRM_DELETE').layout.children.unshift({
        type: 'EmbeddedLink',
        text: 'See my data first',
        'on-click-action': { name: 'navigate', next: { type: 'screen', name: 'MY_DATA' }, payload: {} },
      }),
    'action',
    'CONFIRM_DELETE',
    /navigate to MY_DATA is not an edge of routing_model\.CONFIRM_DELETE/,
  ],
  [
    'complete on a screen that is not terminal',
    (f) =>
      void (component(f, 'CONFIRM_DELETE', 'Footer')['on-click-action'] = { name: 'complete', payload: {} }),
    'action',
    'CONFIRM_DELETE',
    /only allowed on a terminal screen/,
  ],
  [
    'an OptIn label over 120 characters',
    (f) => void (component(f, 'CONFIRM_DELETE', 'OptIn').label = 'x'.repeat(121)),
    'component_limit',
    'CONFIRM_DELETE',
    /OptIn label is 121 characters; the limit is 120/,
  ],
  [
    'six OptIns on one screen',
    (f) => {
      const s = screen(f, 'CONFIRM_DELETE');
      for (let i = 0; i < 5; i++)
        s.layout.children.unshift({ type: 'OptIn', name: `extra_${i}`, label: 'Also this' });
    },
    'component_limit',
    'CONFIRM_DELETE',
    /6 OptIn components; the limit is 5/,
  ],
  [
    'more than 20 radio options',
    (f) => void (component(f, 'PRIVACY_HOME', 'RadioButtonsGroup')['data-source'] = options(21)),
    'component_limit',
    'PRIVACY_HOME',
    /21 options; allowed 1 to 20/,
  ],
  [
    'more than 20 radio options in the declared example of a dynamic data-source',
    (f) => void ((screen(f, 'CONFIRM_DELETE').data!.scopes as JsonObject).__example__ = options(21)),
    'component_limit',
    'CONFIRM_DELETE',
    /21 options \(the declared __example__\)/,
  ],
  [
    'a heading over 80 characters',
    (f) => void (component(f, 'PRIVACY_HOME', 'TextHeading').text = 'h'.repeat(81)),
    'component_limit',
    'PRIVACY_HOME',
    /TextHeading text is 81 characters; the limit is 80/,
  ],
  [
    'a Footer label over 35 characters',
    (f) => void (component(f, 'MY_DATA', 'Footer').label = 'f'.repeat(36)),
    'component_limit',
    'MY_DATA',
    /Footer label is 36 characters; the limit is 35/,
  ],
  [
    'more than 50 components on a screen',
    (f) => {
      const s = screen(f, 'MY_DATA');
      for (let i = 0; i < 48; i++) s.layout.children.unshift({ type: 'TextCaption', text: `line ${i}` });
    },
    'component_limit',
    'MY_DATA',
    /52 components; the limit is 50 per screen/,
  ],
  [
    'a ${data.x} reference that the screen does not declare',
    (f) => void (component(f, 'DONE', 'TextBody').text = '${data.farewell}'),
    'data_reference',
    'DONE',
    /\$\{data\.farewell\} is not declared/,
  ],
  [
    'a ${form.x} reference to no input',
    (f) => {
      const action = component(f, 'CONFIRM_DELETE', 'Footer')['on-click-action'] as { payload: JsonObject };
      action.payload.confirmed = '${form.agree}';
    },
    'form_reference',
    'CONFIRM_DELETE',
    /\$\{form\.agree\} names no input/,
  ],
  [
    'a data field without an __example__',
    (f) => void delete (screen(f, 'PRIVACY_HOME').data!.summary as JsonObject).__example__,
    'data_model',
    'PRIVACY_HOME',
    /summary needs an __example__/,
  ],
  [
    'an __example__ of the wrong type',
    (f) => void ((screen(f, 'PRIVACY_HOME').data!.messages as JsonObject).__example__ = 'twelve'),
    'data_model',
    'PRIVACY_HOME',
    /messages's __example__ is not of its declared type number/,
  ],
  [
    'an unknown component type',
    (f) => void screen(f, 'DONE').layout.children.unshift({ type: 'Marquee', text: 'hi' }),
    'component',
    'DONE',
    /unknown component type "Marquee"/,
  ],
];

describe('validateFlowJson', () => {
  it('passes the shipped Privacy Center Flow', () => {
    const result = validateFlowJson(SHIPPED);
    expect(result.messages).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each(cases)('fails %s, naming the rule and the screen', (_name, mutate, rule, screenId, message) => {
    const flow = copy();
    mutate(flow);
    const result = validateFlowJson(flow);
    expect(result.ok).toBe(false);
    const hit = result.issues.find(
      (i) => i.rule === rule && i.screen === screenId && message.test(i.message),
    );
    expect(
      hit,
      `expected a ${rule} issue on ${screenId ?? 'the document'}; got ${result.messages.join(' | ')}`,
    ).toBeDefined();
    const line = result.messages[result.issues.indexOf(hit!)]!;
    expect(line.startsWith(screenId ? `${rule} screen ${screenId}: ` : `${rule}: `)).toBe(true);
  });

  it('limits the routing model to 10 branches', () => {
    const ids = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
    const footer = (terminal: boolean): JsonObject => ({
      type: 'Footer',
      label: 'Next',
      'on-click-action': terminal
        ? { name: 'complete', payload: {} }
        : { name: 'data_exchange', payload: {} },
    });
    const routing: Record<string, string[]> = {};
    ids.forEach((id, i) => (routing[id] = ids.slice(i + 1, i + 3)));
    routing.A = ['B', 'C', 'D', 'E', 'F', 'G'];
    const doc = {
      version: '7.3',
      data_api_version: '3.0',
      routing_model: routing,
      screens: ids.map((id) => ({
        id,
        ...(id === 'G' ? { terminal: true } : {}),
        layout: { type: 'SingleColumnLayout', children: [footer(id === 'G')] },
      })),
    } as Json;
    const result = validateFlowJson(doc);
    expect(result.messages).toContain(
      'routing_model: routing_model has 15 branches; the limit is 10 (at routing_model)',
    );
    routing.A = ['B'];
    for (const id of ['B', 'C', 'D', 'E', 'F']) routing[id] = [ids[ids.indexOf(id) + 1]!];
    expect(validateFlowJson(doc).messages).toEqual([]);
  });

  it('refuses what is not a Flow JSON document', () => {
    expect(validateFlowJson('nope').messages).toEqual([
      'structure: a Flow JSON document is a JSON object (at $)',
    ]);
    expect(validateFlowJson({ version: '7.3', screens: [] }).messages).toContain(
      'structure: screens must be a non-empty array (at screens)',
    );
  });
});
