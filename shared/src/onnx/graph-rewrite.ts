import { rewriteFields } from "./lift-one-hot.ts";
import type { DecodedGraph } from "./model-proto.ts";

/** Every value name the graph declares or produces: a rewrite's new names must not be among them. */
export function usedNames(graph: DecodedGraph): Set<string> {
  const names = new Set<string>();
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo, ...graph.initializers])
    names.add(v.name);
  for (const n of graph.nodes) for (const o of n.outputs) names.add(o);
  return names;
}

/** NodeProto with its inputs first … first + count - 1 (field 1) replaced by the one input `name`. */
export function replaceInputRun(node: Uint8Array, first: number, count: number, name: string): Uint8Array {
  return rewriteFields(node, (field, _payload, w, index) => {
    if (field !== 1 || index < first || index >= first + count) return false;
    if (index === first) w.stringField(1, name);
    return true;
  });
}
