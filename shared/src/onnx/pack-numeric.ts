import { replaceInputRun, rewritableGraph, rewriteFields, usedNames } from "./graph-rewrite.ts";
import type { DecodedDim, DecodedGraph } from "./model-proto.ts";
import { ONNX_DOMAIN } from "./operators.ts";
import { DataType, writeValueInfo } from "./value-info.ts";

/**
 * The trainer's exports take each numeric field as its own [N, 1] float input and concatenate them first
 * thing. onnxruntime-web copies every input into WASM memory and wraps it in a tensor of its own on each run,
 * so a graph that takes them already side by side runs with one input per field fewer. This rewrite feeds
 * a run of such inputs, side by side in one Concat along axis 1, as one input: when they are all the
 * Concat reads, the Concat goes and its output becomes that input; otherwise the Concat reads the packed
 * input in their place. Either way the nodes after it see the same values in the same places. Every other
 * node and weight is copied byte for byte.
 */
export interface PackedNumerics {
  bytes: Uint8Array;
  /** The packed float input [N, width]. */
  input: string;
  width: number;
  /** Each former numeric input and its column in the packed input. */
  columns: ReadonlyMap<string, number>;
}

/** The packed input's name when the Concat keeps other inputs beside it. */
const PACKED_INPUT = "numeric:packed";

/**
 * The rewritten graph, or undefined (score the graph as it is) unless some Concat along axis 1 reads two or
 * more [batch, 1] float graph inputs side by side, each once, that nothing else reads.
 */
export function packNumericInputs(bytes: Uint8Array): PackedNumerics | undefined {
  const decoded = rewritableGraph(bytes);
  if (!decoded) return undefined;
  const { graph } = decoded;
  let found: { node: number; run: ColumnRun } | undefined;
  for (let i = 0; i < graph.nodes.length && !found; i++) {
    const run = columnRun(graph, i);
    if (run) found = { node: i, run };
  }
  if (!found) return undefined;
  const concat = graph.nodes[found.node]!;
  const { first, count, batch } = found.run;
  const names = concat.inputs.slice(first, first + count);
  const whole = count === concat.inputs.length;
  const input = whole ? concat.outputs[0]! : PACKED_INPUT;
  if (!whole && usedNames(graph).has(PACKED_INPUT)) return undefined;
  const packed = new Set(names);
  try {
    let wroteInput = false;
    const rewritten = rewriteFields(bytes, (field, payload, w) => {
      if (field !== 7) return false;
      const graphBytes = rewriteFields(payload, (f, nodeBytes, g, i) => {
        if (f === 1) {
          if (i !== found.node) return false;
          if (!whole) g.bytesField(1, replaceInputRun(nodeBytes, first, count, PACKED_INPUT));
          return true;
        }
        // A dropped Concat's output is a graph input now, and declares its own type.
        if (f === 13) return whole && graph.valueInfo[i]!.name === input;
        if (f !== 11 || !packed.has(graph.inputs[i]!.name)) return false;
        if (!wroteInput) {
          wroteInput = true;
          g.messageField(11, (v) =>
            writeValueInfo(v, { name: input, elemType: DataType.FLOAT, shape: [batch ?? "N", count] }),
          );
        }
        return true;
      });
      w.bytesField(7, graphBytes);
      return true;
    });
    return { bytes: rewritten, input, width: count, columns: new Map(names.map((name, k) => [name, k])) };
  } catch {
    return undefined;
  }
}

interface ColumnRun {
  first: number;
  count: number;
  batch: DecodedDim;
}

/**
 * The longest run (two or more) of [batch, 1] float graph inputs side by side in node `i`, when it is a
 * Concat along axis 1 and nothing else reads them.
 */
function columnRun(graph: DecodedGraph, i: number): ColumnRun | undefined {
  const node = graph.nodes[i]!;
  if (node.opType !== "Concat" || (node.domain !== ONNX_DOMAIN && node.domain !== "ai.onnx"))
    return undefined;
  const axis = node.attributes.find((a) => a.name === "axis");
  if (node.attributes.length !== 1 || !axis || (axis.i !== 1 && axis.i !== -1)) return undefined;
  const output = node.outputs[0];
  if (node.outputs.length !== 1 || !output) return undefined;
  if (graph.outputs.some((o) => o.name === output) || graph.inputs.some((v) => v.name === output))
    return undefined;
  const column = (name: string): DecodedDim | false => {
    if (node.inputs.indexOf(name) !== node.inputs.lastIndexOf(name)) return false;
    const input = graph.inputs.find((v) => v.name === name);
    if (input?.kind !== "tensor" || input.elemType !== DataType.FLOAT) return false;
    if (input.shape?.length !== 2 || input.shape[1] !== 1) return false;
    if (graph.outputs.some((o) => o.name === name)) return false;
    // An input with an initializer of the same name is a default the caller may omit, not a plain column.
    if (graph.initializers.some((t) => t.name === name)) return false;
    if (graph.nodes.some((n, j) => j !== i && n.inputs.includes(name))) return false;
    return input.shape[0];
  };
  let best: ColumnRun | undefined;
  let run: ColumnRun | undefined;
  node.inputs.forEach((name, k) => {
    const batch = column(name);
    if (batch === false || (run && batch !== run.batch)) {
      run = batch === false ? undefined : { first: k, count: 1, batch };
    } else if (run) {
      run.count++;
    } else {
      run = { first: k, count: 1, batch };
    }
    if (run && run.count >= 2 && run.count > (best?.count ?? 0)) best = { ...run };
  });
  return best;
}
