import { checkAction } from './actions.js';
import type { FlowContext, ScreenContext } from './flow-context.js';
import { isObject, type Json, type JsonObject } from './flow-json-issue.js';
import { isDynamic } from './references.js';

/**
 * Per-component rules from Meta's Components reference ("Limits and Restrictions" of each component):
 * text 80 / 80 / 4096 / 409 characters (heading, subheading, body, caption) and never blank; TextInput and
 * TextArea labels 20, helper text 80; RadioButtonsGroup and CheckboxGroup labels 30, 1-20 options; Dropdown
 * label 20, 1-200 options; option title 30, description 300, metadata 20; Footer label 35, captions 15, either a
 * centre caption or left/right ones; OptIn label 120, at most 5 per screen; EmbeddedLink text 25, at most 2 per
 * screen; at most 50 components per screen; inputs need a name, unique on the screen.
 */

export const KNOWN_COMPONENTS = new Set([
  'TextHeading',
  'TextSubheading',
  'TextBody',
  'TextCaption',
  'RichText',
  'TextInput',
  'TextArea',
  'CheckboxGroup',
  'RadioButtonsGroup',
  'Footer',
  'OptIn',
  'Dropdown',
  'EmbeddedLink',
  'DatePicker',
  'CalendarPicker',
  'Image',
  'ImageCarousel',
  'If',
  'Switch',
  'Form',
  'PhotoPicker',
  'DocumentPicker',
  'NavigationList',
  'ChipsSelector',
]);

/** Components whose value the person enters: they carry a `name` and can be read with `${form.name}`. */
export const INPUT_COMPONENTS = new Set([
  'TextInput',
  'TextArea',
  'CheckboxGroup',
  'RadioButtonsGroup',
  'OptIn',
  'Dropdown',
  'DatePicker',
  'CalendarPicker',
  'PhotoPicker',
  'DocumentPicker',
  'ChipsSelector',
]);

export const PER_SCREEN_MAX = { components: 50, OptIn: 5, EmbeddedLink: 2, Footer: 1 } as const;

const TEXT_LIMIT: Record<string, number> = {
  TextHeading: 80,
  TextSubheading: 80,
  TextBody: 4096,
  TextCaption: 409,
};
const LABEL_LIMIT: Record<string, number> = {
  TextInput: 20,
  TextArea: 20,
  Dropdown: 20,
  RadioButtonsGroup: 30,
  CheckboxGroup: 30,
  OptIn: 120,
  Footer: 35,
};
const HELPER_LIMIT: Record<string, number> = { TextInput: 80, TextArea: 80 };
const OPTION_COUNT: Record<string, { min: number; max: number }> = {
  RadioButtonsGroup: { min: 1, max: 20 },
  CheckboxGroup: { min: 1, max: 20 },
  Dropdown: { min: 1, max: 200 },
};
const OPTION_FIELD_LIMIT: Record<string, number> = { title: 30, description: 300, metadata: 20 };
const CAPTION_LIMIT = 15;
const EMBEDDED_LINK_LIMIT = 25;

/** The declared `__example__` of a `${data.x}` binding, when the whole value is that one binding. */
function exampleOf(value: string, screen: ScreenContext): Json | undefined {
  const m = /^\$\{data\.([A-Za-z0-9_-]+)\}$/.exec(value);
  const decl = m?.[1] ? screen.data[m[1]] : undefined;
  return isObject(decl) ? decl.__example__ : undefined;
}

export function checkComponent(c: JsonObject, path: string, screen: ScreenContext, flow: FlowContext): void {
  const type = c.type;
  const limit = (message: string, at: string) =>
    flow.report({ rule: 'component_limit', screen: screen.id, path: at, message });
  const bad = (message: string, at = path) =>
    flow.report({ rule: 'component', screen: screen.id, path: at, message });
  if (typeof type !== 'string' || !KNOWN_COMPONENTS.has(type)) {
    return bad(`unknown component type ${JSON.stringify(type)}`, `${path}.type`);
  }

  /** A static string's length, or the declared example's when the value is one `${data.x}` binding. */
  const checkLength = (key: string, max: number, what: string, opts: { required?: boolean } = {}) => {
    const value = c[key];
    if (value === undefined) {
      if (opts.required) bad(`${type} needs a ${key}`, `${path}.${key}`);
      return;
    }
    if (typeof value !== 'string') return bad(`${type} ${key} must be a string`, `${path}.${key}`);
    if (!isDynamic(value) && value.trim() === '')
      return bad(`${type} ${key} must not be blank`, `${path}.${key}`);
    const example = isDynamic(value) ? exampleOf(value, screen) : value;
    if (typeof example === 'string' && example.length > max) {
      const whose = isDynamic(value) ? ' (the declared __example__)' : '';
      limit(`${type} ${what} is ${example.length} characters${whose}; the limit is ${max}`, `${path}.${key}`);
    }
  };

  if (INPUT_COMPONENTS.has(type) && (typeof c.name !== 'string' || c.name.trim() === '')) {
    bad(`${type} needs a name`, `${path}.name`);
  }
  const textMax = TEXT_LIMIT[type];
  if (textMax !== undefined) checkLength('text', textMax, 'text', { required: true });
  const labelMax = LABEL_LIMIT[type];
  if (labelMax !== undefined) checkLength('label', labelMax, 'label', { required: true });
  const helperMax = HELPER_LIMIT[type];
  if (helperMax !== undefined) checkLength('helper-text', helperMax, 'helper text');

  switch (type) {
    case 'Footer': {
      for (const k of ['left-caption', 'center-caption', 'right-caption']) checkLength(k, CAPTION_LIMIT, k);
      if (c['center-caption'] !== undefined && (c['left-caption'] ?? c['right-caption']) !== undefined) {
        bad('a Footer has either a center-caption or left/right captions, not both');
      }
      if (c['on-click-action'] === undefined) return bad('Footer needs an on-click-action');
      checkAction(c['on-click-action'], `${path}.on-click-action`, type, screen, flow);
      return;
    }
    case 'EmbeddedLink': {
      checkLength('text', EMBEDDED_LINK_LIMIT, 'text', { required: true });
      if (c['on-click-action'] === undefined) return bad('EmbeddedLink needs an on-click-action');
      checkAction(c['on-click-action'], `${path}.on-click-action`, type, screen, flow);
      return;
    }
    case 'RadioButtonsGroup':
    case 'CheckboxGroup':
    case 'Dropdown':
      checkOptions(c, path, type, screen, flow);
      break;
  }
  for (const key of ['on-click-action', 'on-select-action', 'on-unselect-action']) {
    if (c[key] !== undefined) checkAction(c[key], `${path}.${key}`, type, screen, flow);
  }
}

function checkOptions(c: JsonObject, path: string, type: string, screen: ScreenContext, flow: FlowContext) {
  const at = `${path}.data-source`;
  const source = c['data-source'];
  const report = (rule: 'component' | 'component_limit', message: string, where = at) =>
    flow.report({ rule, screen: screen.id, path: where, message });
  let options: Json | undefined = source;
  let whose = '';
  if (typeof source === 'string') {
    options = exampleOf(source, screen);
    whose = ' (the declared __example__)';
    if (!Array.isArray(options)) {
      return report(
        'component',
        `${type} data-source must be an array or one \${data.x} binding of an array`,
      );
    }
  }
  if (!Array.isArray(options)) return report('component', `${type} needs a data-source array`);
  const { min, max } = OPTION_COUNT[type] ?? { min: 1, max: Infinity };
  if (options.length < min || options.length > max) {
    report('component_limit', `${type} has ${options.length} options${whose}; allowed ${min} to ${max}`);
  }
  const ids = new Set<string>();
  options.forEach((o, i) => {
    if (!isObject(o) || typeof o.id !== 'string' || typeof o.title !== 'string') {
      return report('component', `option ${i} needs a string id and title`, `${at}[${i}]`);
    }
    if (ids.has(o.id)) report('component', `option id ${o.id} is used twice`, `${at}[${i}].id`);
    ids.add(o.id);
    for (const [field, fieldMax] of Object.entries(OPTION_FIELD_LIMIT)) {
      const v = o[field];
      if (typeof v === 'string' && !isDynamic(v) && v.length > fieldMax) {
        report(
          'component_limit',
          `option ${field} is ${v.length} characters${whose}; the limit is ${fieldMax}`,
          `${at}[${i}].${field}`,
        );
      }
    }
  });
}
