import type { FlowJsonIssue, Json } from './flow-json-issue.js';
import { isObject } from './flow-json-issue.js';

/**
 * `routing_model` rules (Meta, Flow JSON reference "Routing Model"): required when the Flow uses a data
 * endpoint; a map of every screen id to the screens it can move to; a route cannot be the current screen; only
 * forward routes are listed (the BACK button covers the way back, so no cycles); at most 10 branches in all; an
 * entry screen with no inbound edge exists; every route ends at a terminal screen.
 */

export const MAX_BRANCHES = 10;

export function checkRouting(
  model: Json | undefined,
  screens: ReadonlyMap<string, { terminal: boolean }>,
  report: (issue: FlowJsonIssue) => void,
): Map<string, string[]> | undefined {
  if (model === undefined) return undefined;
  const issue = (message: string, path = 'routing_model', screen?: string) =>
    report({ rule: 'routing_model', screen, path, message });
  if (!isObject(model)) {
    issue('routing_model must be an object mapping each screen id to the screen ids it can move to');
    return undefined;
  }
  const edges = new Map<string, string[]>();
  let branches = 0;
  for (const [from, targets] of Object.entries(model)) {
    const at = `routing_model.${from}`;
    if (!screens.has(from)) issue(`routing_model names unknown screen ${from}`, at, from);
    if (!Array.isArray(targets)) {
      issue('routes must be an array of screen ids (empty when there is no forward route)', at, from);
      continue;
    }
    const list: string[] = [];
    targets.forEach((to, i) => {
      const where = `${at}[${i}]`;
      if (typeof to !== 'string' || !screens.has(to)) {
        return issue(`route to ${JSON.stringify(to)}: no such screen`, where, from);
      }
      if (to === from) return issue('a route cannot lead to its own screen', where, from);
      if (list.includes(to)) return issue(`route to ${to} is listed twice`, where, from);
      list.push(to);
    });
    branches += list.length;
    edges.set(from, list);
  }
  for (const id of screens.keys()) {
    if (!edges.has(id) && !(id in model))
      issue(`screen ${id} is missing from routing_model`, 'routing_model', id);
  }
  if (branches > MAX_BRANCHES) issue(`routing_model has ${branches} branches; the limit is ${MAX_BRANCHES}`);

  const cycle = findCycle(edges);
  if (cycle) {
    issue(
      `only forward routes may be listed, but ${cycle.join(' -> ')} loops back (BACK already returns)`,
      `routing_model.${cycle[0]}`,
      cycle[0],
    );
  } else {
    const inbound = new Set([...edges.values()].flat());
    if (![...screens.keys()].some((id) => !inbound.has(id))) {
      issue('there is no entry screen: every screen has an inbound route');
    }
    for (const [id, s] of screens) {
      if (!s.terminal && !reachesTerminal(id, edges, screens)) {
        issue(`no route from ${id} ends at a terminal screen`, `routing_model.${id}`, id);
      }
    }
  }
  return edges;
}

function findCycle(edges: ReadonlyMap<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'open');
    stack.push(id);
    for (const next of edges.get(id) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

function reachesTerminal(
  start: string,
  edges: ReadonlyMap<string, string[]>,
  screens: ReadonlyMap<string, { terminal: boolean }>,
): boolean {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (screens.get(id)?.terminal) return true;
    queue.push(...(edges.get(id) ?? []));
  }
  return false;
}
