import { replaceInputRun, rewritableGraph, rewriteFields, usedNames } from "./graph-rewrite.ts";
import type { LiftedGraph, LiftedOneHot } from "./lift-one-hot.ts";
import type { DecodedModel } from "./model-proto.ts";
import { ONNX_DOMAIN } from "./operators.ts";
import type { ProtoWriter } from "./protobuf-writer.ts";
import { DataType, writeValueInfo } from "./value-info.ts";

/**
 * A lifted graph still takes one float input per encoder, each flattened by its own node before the
 * graph concatenates them: two kernels and an input per categorical field on every run. This rewrites a
 * lifted graph once more so that all the lifted one-hot columns arrive as one [N, width] input, cut back
 * into the flattened blocks by a single Split (which copies values, so the graph still computes exactly
 * what the original does). When the blocks only meet again, in order, side by side in one Concat along
 * the same axis (as every trainer export has them), the Concat reads the packed input directly and there
 * is no Split: the same values in the same columns, without 2 + fields tensors per run. Every other node
 * and weight is copied byte for byte.
 */
export interface PackedOneHots {
  bytes: Uint8Array;
  /** The packed float input [N, width]. */
  input: string;
  width: number;
  /** Each lifted encoder and the column its block starts at in the packed input. */
  blocks: { oneHot: LiftedOneHot; offset: number }[];
}

const PACKED_INPUT = "onehot:packed";
const SPLIT_SIZES = "onehot:split_sizes";
/** Split takes its sizes as an input from opset 13 on. */
const MIN_OPSET = 13;

/**
 * The packed graph, or undefined (score with the lifted one) unless every lifted input is read by exactly
 * one Flatten(axis=1), the graph imports opset ≥ 13, and the new names are free.
 */
export function packOneHotInputs(lifted: LiftedGraph): PackedOneHots | undefined {
  const decoded = rewritableGraph(lifted.bytes);
  if (!decoded) return undefined;
  const { model, graph } = decoded;
  const opset = model.opsetImports.find((o) => o.domain === ONNX_DOMAIN || o.domain === "ai.onnx");
  if (!opset || opset.version < MIN_OPSET) return undefined;
  const names = usedNames(graph);
  if (names.has(PACKED_INPUT) || names.has(SPLIT_SIZES)) return undefined;

  const flattens = new Set<number>();
  const splitOutputs: string[] = [];
  const blocks: PackedOneHots["blocks"] = [];
  let width = 0;
  let batch: number | string | undefined;
  for (const oneHot of lifted.oneHots) {
    const input = graph.inputs.find((i) => i.name === oneHot.input);
    if (!input || graph.outputs.some((o) => o.name === oneHot.input)) return undefined;
    if (blocks.length === 0) batch = input.shape?.[0];
    else if (input.shape?.[0] !== batch) return undefined;
    const readers = graph.nodes.flatMap((n, i) => (n.inputs.includes(oneHot.input) ? [i] : []));
    if (readers.length !== 1) return undefined;
    const node = graph.nodes[readers[0]!]!;
    if (node.opType !== "Flatten" || (node.domain !== ONNX_DOMAIN && node.domain !== "ai.onnx"))
      return undefined;
    if (node.inputs.length !== 1 || node.outputs.length !== 1 || node.outputs[0] === "") return undefined;
    const axis = node.attributes.find((a) => a.name === "axis");
    if (node.attributes.length > (axis ? 1 : 0) || (axis && axis.i !== 1)) return undefined;
    if (graph.outputs.some((o) => o.name === node.outputs[0])) return undefined;
    flattens.add(readers[0]!);
    splitOutputs.push(node.outputs[0]!);
    blocks.push({ oneHot, offset: width });
    width += oneHot.categories.length;
  }
  if (blocks.length < 2) return undefined;

  const liftedInputs = new Set(lifted.oneHots.map((o) => o.input));
  const sizes = blocks.map((b) => b.oneHot.categories.length);
  const direct = concatReadingBlocks(graph, splitOutputs);
  const splitValues = new Set(splitOutputs);
  let wroteInput = false;
  try {
    const bytes = rewriteFields(lifted.bytes, (field, payload, w) => {
      if (field !== 7) return false;
      const rewritten = rewriteFields(payload, (f, nodeBytes, g, index) => {
        if (f === 1) {
          if (!direct && index === 0) writeSplit(g, splitOutputs, sizes);
          if (direct && index === direct.node) {
            g.bytesField(1, replaceInputRun(nodeBytes, direct.first, splitOutputs.length, PACKED_INPUT));
            return true;
          }
          return flattens.has(index);
        }
        // Without the Split its block values no longer exist: what was said of them goes too.
        if (f === 13) return direct !== undefined && splitValues.has(graph.valueInfo[index]!.name);
        if (f !== 11 || !liftedInputs.has(graph.inputs[index]!.name)) return false;
        if (!wroteInput) {
          wroteInput = true;
          g.messageField(11, (v) =>
            writeValueInfo(v, { name: PACKED_INPUT, elemType: DataType.FLOAT, shape: [batch ?? "N", width] }),
          );
        }
        return true;
      });
      w.bytesField(7, rewritten);
      return true;
    });
    return { bytes, input: PACKED_INPUT, width, blocks };
  } catch {
    return undefined;
  }
}

/**
 * The one Concat (axis 1 of these rank-2 blocks) that reads every block, each once, side by side in block
 * order, where nothing else reads them: its index and the position of the first block among its inputs.
 */
function concatReadingBlocks(
  graph: NonNullable<DecodedModel["graph"]>,
  blocks: readonly string[],
): { node: number; first: number } | undefined {
  const wanted = new Set(blocks);
  const readers = graph.nodes.flatMap((n, i) => (n.inputs.some((x) => wanted.has(x)) ? [i] : []));
  if (readers.length !== 1) return undefined;
  const node = graph.nodes[readers[0]!]!;
  if (node.opType !== "Concat" || (node.domain !== ONNX_DOMAIN && node.domain !== "ai.onnx"))
    return undefined;
  const axis = node.attributes.find((a) => a.name === "axis");
  if (node.attributes.length !== 1 || !axis || (axis.i !== 1 && axis.i !== -1)) return undefined;
  const first = node.inputs.indexOf(blocks[0]!);
  if (node.inputs.filter((x) => wanted.has(x)).length !== blocks.length) return undefined;
  if (!blocks.every((b, k) => node.inputs[first + k] === b)) return undefined;
  return { node: readers[0]!, first };
}

/** The Split node (axis 1) and its int64 sizes, written ahead of the graph's first node. */
function writeSplit(g: ProtoWriter, outputs: readonly string[], sizes: readonly number[]): void {
  // TensorProto: dims (1), data_type (2), int64_data (7, packed), name (8).
  g.messageField(5, (t) =>
    t
      .varintField(1, sizes.length)
      .varintField(2, DataType.INT64)
      .packedVarints(7, sizes)
      .stringField(8, SPLIT_SIZES),
  );
  // NodeProto: input (1), output (2), op_type (4), attribute (5); AttributeProto: name, i (3), type (20).
  g.messageField(1, (n) => {
    n.stringField(1, PACKED_INPUT).stringField(1, SPLIT_SIZES);
    for (const o of outputs) n.stringField(2, o);
    n.stringField(4, "Split");
    n.messageField(5, (a) => a.stringField(1, "axis").varintField(3, 1).varintField(20, 2));
  });
}
