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
  const { ort, session, manifest } = model;
  const inputs = model.encoder.inputs;
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  manifest.features.forEach((feature, j) => {
    const column = columns[j]!;
    feeds[inputs[j]!] =
      feature.type === "numeric"
        ? new ort.Tensor("float32", column as Float32Array, [n, 1])
        : new ort.Tensor("string", column as string[], [n, 1]);
  });
  const { probability, contributions } = manifest.outputs;
  const fromGraph = explain && contributions !== undefined;
  const out = await session.run(feeds, fromGraph ? model.fetches.explain : model.fetches.plain);
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
