import type { FlowJsonIssue, JsonObject } from './flow-json-issue.js';

/** What the component and action rules need to know about the screen they are on and the Flow around it. */
export interface ScreenContext {
  id: string;
  /** `screens[i]` */
  path: string;
  terminal: boolean;
  /** The screen's `data` declarations (field name → JSON Schema with `__example__`). */
  data: JsonObject;
  /** Names of the screen's input components. */
  inputs: Set<string>;
}

export interface FlowContext {
  /** The Flow talks to a data endpoint (`data_api_version` is set). */
  endpoint: boolean;
  /** `routing_model` edges, when the document has one. */
  routing: Map<string, string[]> | undefined;
  screens: Map<string, ScreenContext>;
  report(issue: FlowJsonIssue): void;
}
