import { type DecodedGraph, type DecodedModel, decodeModel } from "./model-proto.ts";
import { ProtoReader, WIRE } from "./protobuf-reader.ts";
import { ProtoWriter } from "./protobuf-writer.ts";

/**
 * The decoded model and its graph when a scoring rewrite may touch it: readable, one graph, and nothing a
 * rewrite could not see into (model-local functions, subgraphs in attributes) where a value it moves
 * could also be read. The safety check refuses such graphs anyway; the rewrites do not rely on it.
 */
export function rewritableGraph(bytes: Uint8Array): { model: DecodedModel; graph: DecodedGraph } | undefined {
  let model: DecodedModel;
  try {
    model = decodeModel(bytes);
  } catch {
    return undefined;
  }
  const graph = model.graph;
  if (!graph || model.graphFields !== 1 || model.functions > 0) return undefined;
  if (graph.nodes.some((n) => n.attributes.some((a) => a.graphs > 0))) return undefined;
  return { model, graph };
}

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

/**
 * Copies a message field by field; `replace` writes its own version of a field (returning true) or
 * leaves it to be copied as it is. Only varint and length-delimited fields are expected here.
 */
export function rewriteFields(
  bytes: Uint8Array,
  replace: (field: number, payload: Uint8Array, w: ProtoWriter, index: number) => boolean,
): Uint8Array {
  const r = new ProtoReader(bytes);
  const w = new ProtoWriter();
  const seen = new Map<number, number>();
  while (!r.done()) {
    const start = r.offset();
    const { field, wireType } = r.tag();
    const index = seen.get(field) ?? 0;
    seen.set(field, index + 1);
    if (wireType === WIRE.LENGTH_DELIMITED) {
      const payload = r.bytes();
      if (replace(field, payload, w, index)) continue;
    } else if (wireType === WIRE.VARINT) {
      r.varint();
    } else {
      throw new Error(`unexpected wire type ${wireType} in field ${field}`);
    }
    w.raw(bytes.subarray(start, r.offset()));
  }
  return w.finish();
}
