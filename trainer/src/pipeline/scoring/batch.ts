/**
 * A batch of rows ready for the graph: one tensor per graph input, as plain data so it can be handed to
 * a scoring thread (float buffers are transferred, not copied).
 */
export interface ScoreBatch {
  rows: number;
  tensors: BatchTensor[];
}

export type BatchTensor =
  | { input: string; type: "float32"; data: Float32Array; dims: number[] }
  | { input: string; type: "string"; data: string[]; dims: number[] };

/** Where the graph's probability sits: its output name, and the column of a [N, 2] output. */
export interface ProbabilityOutput {
  name: string;
  column?: number | undefined;
}

/** The float buffers of a batch, for `postMessage`'s transfer list. */
export function transferables(batch: ScoreBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of batch.tensors) if (t.type === "float32") out.push(t.data.buffer as ArrayBuffer);
  return out;
}
