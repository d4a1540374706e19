import type { LoadedModel } from "./loaded-model.ts";

export interface Scores {
  probabilities: Float32Array;
  /** Row-major [N, F] in manifest feature order, when asked for and the model can explain. */
  contributions: ArrayLike<number> | undefined;
}

/** Runs the graph on encoded columns; only the outputs the manifest names are fetched. */
export async function score(
  model: LoadedModel,
  columns: (Float32Array | string[])[],
  n: number,
  explain: boolean,
): Promise<Scores> {
  const { session, manifest } = model;
  const { probability, contributions } = manifest.outputs;
  const fromGraph = explain && contributions !== undefined;
  const feeds = model.feeds.build(columns, n);
  let out: Awaited<ReturnType<typeof session.run>>;
  try {
    out = await session.run(feeds.tensors, fromGraph ? model.fetches.explain : model.fetches.plain);
  } finally {
    feeds.release();
  }
  const probTensor = out[probability.name]!;
  const raw = probTensor.data as Float32Array;
  let probabilities = raw;
  if (probability.column !== undefined) {
    const width = probTensor.dims[1] ?? 1;
    probabilities = new Float32Array(n);
    for (let i = 0; i < n; i++) probabilities[i] = raw[i * width + probability.column]!;
  }
  let explained: ArrayLike<number> | undefined;
  if (fromGraph) explained = out[contributions.name]!.data as Float32Array;
  else if (explain && model.explainer) explained = model.explainer.explain(columns, n).contributions;
  return { probabilities, contributions: explained };
}
