import type { FlowContext, ScreenContext } from './flow-context.js';
import { isObject, type FlowJsonIssue, type JsonObject } from './flow-json-issue.js';
import { referencesIn, stringsIn } from './references.js';

/**
 * The screens' data declarations and the references into them (Meta, Flow JSON reference "Dynamic
 * properties"): each field declares a JSON Schema type and a mandatory `__example__` of that type (arrays also
 * their `items`); `${data.x}` must be declared on the screen, `${form.x}` must name an input of the screen, and
 * `${screen.NAME.data.x}` / `${screen.NAME.form.x}` must name something declared on screen NAME.
 */

const SCHEMA_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'];
/** Keys under which components nest other components; their strings are checked with the nested component. */
const NESTED_KEYS = new Set(['children', 'then', 'else', 'cases']);

export function checkDataModel(screen: ScreenContext, report: (i: FlowJsonIssue) => void) {
  for (const [name, decl] of Object.entries(screen.data)) {
    const path = `${screen.path}.data.${name}`;
    const issue = (message: string) => report({ rule: 'data_model', screen: screen.id, path, message });
    if (!isObject(decl) || typeof decl.type !== 'string' || !SCHEMA_TYPES.includes(decl.type)) {
      issue(`${name} must declare a JSON Schema type (${SCHEMA_TYPES.join(', ')})`);
      continue;
    }
    if (decl.type === 'array' && !isObject(decl.items))
      issue(`${name} is an array and must declare its items`);
    if (!('__example__' in decl)) {
      issue(`${name} needs an __example__ value (mandatory in Flow JSON)`);
      continue;
    }
    const ex = decl.__example__;
    const matches =
      decl.type === 'string'
        ? typeof ex === 'string'
        : decl.type === 'number' || decl.type === 'integer'
          ? typeof ex === 'number'
          : decl.type === 'boolean'
            ? typeof ex === 'boolean'
            : decl.type === 'array'
              ? Array.isArray(ex)
              : isObject(ex);
    if (!matches) issue(`${name}'s __example__ is not of its declared type ${decl.type}`);
  }
}

export function checkReferences(
  component: JsonObject,
  path: string,
  screen: ScreenContext,
  flow: FlowContext,
) {
  const own: JsonObject = {};
  for (const [k, v] of Object.entries(component)) if (!NESTED_KEYS.has(k)) own[k] = v;
  for (const { path: at, text } of stringsIn(own, path)) {
    for (const ref of referencesIn(text)) {
      if (ref.kind === 'data' && !(ref.field in screen.data)) {
        flow.report({
          rule: 'data_reference',
          screen: screen.id,
          path: at,
          message: `${ref.raw} is not declared in the screen's data`,
        });
      } else if (ref.kind === 'form' && !screen.inputs.has(ref.field)) {
        flow.report({
          rule: 'form_reference',
          screen: screen.id,
          path: at,
          message: `${ref.raw} names no input on this screen`,
        });
      } else if (ref.kind === 'screen') {
        const other = flow.screens.get(ref.screen);
        const known = other && (ref.store === 'data' ? ref.field in other.data : other.inputs.has(ref.field));
        if (!known) {
          flow.report({
            rule: ref.store === 'data' ? 'data_reference' : 'form_reference',
            screen: screen.id,
            path: at,
            message: `${ref.raw} names nothing declared on screen ${ref.screen}`,
          });
        }
      }
    }
  }
}
