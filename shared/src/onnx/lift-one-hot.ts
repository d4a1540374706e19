import { rewritableGraph, rewriteFields } from "./graph-rewrite.ts";
import type { DecodedGraph, DecodedNode } from "./model-proto.ts";
import { ML_DOMAIN } from "./operators.ts";
import { DataType, writeValueInfo } from "./value-info.ts";

/** Batch dimension given to a lifted input whose string input had none. */
const BATCH = "N";

/**
 * Scoring spends more time handing strings to onnxruntime-web (one allocation and UTF-8 copy per cell, on
 * both sides of the WASM boundary) than the graph spends on its one-hot encoders. This rewrites a
 * graph so that each OneHotEncoder reading a string input is replaced by a float input carrying the
 * encoder's output, which the caller computes itself (see `oneHotIndex` and `categoryColumn`). Every other node, weight and
 * attribute is copied byte for byte, so the rewritten graph computes exactly what the original does on
 * the same rows; the original bytes remain what is published, hashed and served.
 */

/** One encoder taken out of the graph. */
export interface LiftedOneHot {
  /** The string graph input the encoder read. */
  source: string;
  /** The new float graph input [N, 1, categories.length], named as the encoder's output. */
  input: string;
  /** The encoder's categories, in column order. */
  categories: string[];
}

export interface LiftedGraph {
  bytes: Uint8Array;
  oneHots: LiftedOneHot[];
}

/**
 * The rewritten model, or undefined when no encoder can be lifted safely. A string input is lifted only
 * when OneHotEncoders with string categories and `zeros=1` (unknown values give all zeros) are its sole
 * readers and neither it nor their outputs are graph outputs; graphs with subgraphs or model-local
 * functions are left alone, as a reader could hide inside them.
 */
export function liftOneHotEncoders(bytes: Uint8Array): LiftedGraph | undefined {
  const decoded = rewritableGraph(bytes);
  if (!decoded) return undefined;
  const { graph } = decoded;

  const lifted = new Map<DecodedNode, LiftedOneHot>();
  const liftedSources = new Set<string>();
  for (const input of graph.inputs) {
    const encoders = liftableReaders(graph, input.name);
    if (!encoders) continue;
    if (!(input.kind === "tensor" && input.elemType === DataType.STRING)) continue;
    if (!(input.shape?.length === 2 && input.shape[1] === 1)) continue;
    liftedSources.add(input.name);
    for (const { node, categories } of encoders) {
      lifted.set(node, { source: input.name, input: node.outputs[0]!, categories });
    }
  }
  if (lifted.size === 0) return undefined;

  const oneHots = [...lifted.values()];
  const newInputs = new Set(oneHots.map((o) => o.input));
  const batchOf = new Map(graph.inputs.map((i) => [i.name, i.shape?.[0]]));
  try {
    const rewritten = rewriteFields(bytes, (field, payload, w) => {
      if (field !== 7) return false;
      w.bytesField(7, rewriteGraph(payload, graph, lifted, liftedSources, newInputs, batchOf));
      return true;
    });
    return { bytes: rewritten, oneHots };
  } catch {
    return undefined;
  }
}

/** The OneHotEncoders reading `name`, when they are its only readers and can be lifted; else undefined. */
function liftableReaders(
  graph: DecodedGraph,
  name: string,
): { node: DecodedNode; categories: string[] }[] | undefined {
  if (graph.outputs.some((o) => o.name === name)) return undefined;
  const readers = graph.nodes.filter((n) => n.inputs.includes(name));
  if (readers.length === 0) return undefined;
  const out: { node: DecodedNode; categories: string[] }[] = [];
  for (const node of readers) {
    if (node.opType !== "OneHotEncoder" || node.domain !== ML_DOMAIN) return undefined;
    if (node.inputs.length !== 1 || node.outputs.length !== 1) return undefined;
    const output = node.outputs[0]!;
    if (output === "" || graph.outputs.some((o) => o.name === output)) return undefined;
    if (graph.inputs.some((i) => i.name === output)) return undefined;
    const attribute = (key: string) => node.attributes.find((a) => a.name === key);
    const zeros = attribute("zeros");
    if (zeros !== undefined && zeros.i !== 1) return undefined;
    if ((attribute("cats_int64s")?.ints ?? 0) > 0) return undefined;
    const strings = attribute("cats_strings");
    if (!strings || strings.strings === 0) return undefined;
    const categories = strings.readStrings();
    // Category bytes that are not UTF-8 decode to U+FFFD here but match nothing in onnxruntime.
    if (categories.some((c) => c.includes("\uFFFD"))) return undefined;
    out.push({ node, categories });
  }
  return out;
}

/**
 * GraphProto with the lifted encoders (field 1) dropped, each lifted string input (field 11) replaced by
 * the float inputs of its encoders, and any value_info (field 13) about those values dropped: a graph
 * input declares its own type.
 */
function rewriteGraph(
  payload: Uint8Array,
  graph: DecodedGraph,
  lifted: ReadonlyMap<DecodedNode, LiftedOneHot>,
  liftedSources: ReadonlySet<string>,
  newInputs: ReadonlySet<string>,
  batchOf: ReadonlyMap<string, number | string | undefined>,
): Uint8Array {
  return rewriteFields(payload, (field, _bytes, w, index) => {
    if (field === 1) return lifted.has(graph.nodes[index]!);
    if (field === 13) return newInputs.has(graph.valueInfo[index]!.name);
    if (field !== 11) return false;
    const source = graph.inputs[index]!.name;
    if (!liftedSources.has(source)) return false;
    const batch = batchOf.get(source);
    for (const o of lifted.values()) {
      if (o.source !== source) continue;
      w.messageField(11, (v) =>
        writeValueInfo(v, {
          name: o.input,
          elemType: DataType.FLOAT,
          shape: [batch ?? BATCH, 1, o.categories.length],
        }),
      );
    }
    return true;
  });
}

/**
 * Column of each category in an encoder's output, as onnxruntime's OneHotEncoder looks values up: exact
 * string equality, a repeated category taking its last position. A category holding NUL can never be
 * matched (onnxruntime-web hands input strings over NUL-terminated), so it is left out.
 */
export function oneHotIndex(categories: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  categories.forEach((c, i) => {
    if (!c.includes("\u0000")) index.set(c, i);
  });
  return index;
}

/**
 * The category column (-1: none) onnxruntime's encoder would find for `text`. onnxruntime-web passes
 * strings to WASM NUL-terminated, so the encoder sees a text only up to its first NUL.
 */
export function categoryColumn(index: ReadonlyMap<string, number>, text: string): number {
  const k = index.get(text);
  if (k !== undefined) return k;
  const nul = text.indexOf("\u0000");
  return (nul >= 0 ? index.get(text.slice(0, nul)) : undefined) ?? -1;
}
