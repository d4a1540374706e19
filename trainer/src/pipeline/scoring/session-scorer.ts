import * as ort from "onnxruntime-web";
import { BATCH, GraphBuilder, IR_VERSION, OPSET } from "../../ml/onnx/graph.ts";
import { DataType, encodeModel } from "../../ml/onnx/model.ts";
import type { ProbabilityOutput, ScoreBatch } from "./batch.ts";

/** A graph loaded into onnxruntime-web (the runtime the edge serves with), scoring one batch at a time. */
export interface SessionScorer {
  score(batch: ScoreBatch): Promise<Float32Array>;
  release(): Promise<void>;
}

// One WASM thread, as at the edge: the edge's arithmetic (ORT's thread pool may split a tree ensemble's
// sum differently for small batches), and no threads competing with the one reading the file.
ort.env.wasm.numThreads = 1;

export async function openSessionScorer(
  bytes: Uint8Array,
  output: ProbabilityOutput,
): Promise<SessionScorer> {
  const session = await ort.InferenceSession.create(bytes);
  // Runs are chained: a session scores one batch at a time.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    score(batch) {
      const run = queue.then(() => scoreOnce(session, output, batch));
      queue = run.catch(() => undefined);
      return run;
    },
    release: () => session.release(),
  };
}

/**
 * Starts onnxruntime's WASM runtime (instantiation and its one-off set-up: nearly all of the first
 * session's cost) with a one-node graph, so it is ready before the real graph is.
 */
export async function warmUpRuntime(): Promise<void> {
  const g = new GraphBuilder();
  g.op("Identity", [g.input({ name: "x", elemType: DataType.FLOAT, shape: [BATCH, 1] })], { output: "y" });
  g.output({ name: "y", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: "", version: OPSET }],
    producerName: "churn",
    producerVersion: "warm-up",
    graph: g.build("warm_up"),
  });
  const session = await ort.InferenceSession.create(bytes);
  await session.release();
}

async function scoreOnce(
  session: ort.InferenceSession,
  output: ProbabilityOutput,
  batch: ScoreBatch,
): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of batch.tensors) {
    feeds[t.input] =
      t.type === "float32"
        ? new ort.Tensor("float32", t.data, t.dims)
        : new ort.Tensor("string", t.data, t.dims);
  }
  const result = await session.run(feeds, [output.name]);
  const tensor = result[output.name]!;
  const data = tensor.data as Float32Array;
  if (output.column === undefined) return data;
  const width = tensor.dims[1] ?? 1;
  const n = batch.rows;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i * width + output.column]!;
  return out;
}
