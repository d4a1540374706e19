import type { LogisticModelData } from "../models/logistic.ts";
import { encodedBlocks, encodedColumnFeatures, type Preprocessor, stepBlocks } from "../preprocess.ts";
import { concatColumns, type GraphInputs } from "./inputs.ts";

/**
 * Emits one linear part and returns its per-feature contributions [N,F]:
 *   encoded [N,W] (see emitEncoded) -> MatMul(block weights [W,F]) - offsets[F]
 * Each encoded column feeds only the contribution of the feature it came from, so the row sum of the
 * result plus the part's base margin is its margin.
 */
export function emitLinearContributions(
  inputs: GraphInputs,
  data: LogisticModelData,
  prefix: string,
  output?: string,
): string {
  const g = inputs.g;
  const pre = data.preprocessor;
  const encoded = emitEncoded(inputs, pre, prefix);
  const nFeatures = pre.features.length;
  const columnFeature = encodedColumnFeatures(pre);
  const matrix = new Float32Array(pre.width * nFeatures);
  for (let k = 0; k < pre.width; k++) matrix[k * nFeatures + columnFeature[k]!] = data.weights[k]!;
  const weights = g.floats(`${prefix}weights`, [pre.width, nFeatures], matrix);
  const offsets = g.floats(`${prefix}feature_offsets`, [nFeatures], data.featureOffsets);
  const weighted = g.op("MatMul", [encoded, weights], { hint: `${prefix}weighted` });
  return g.op("Sub", [weighted, offsets], output ? { output } : { hint: `${prefix}contributions` });
}

/**
 * The encoded matrix [N,W] of a preprocessor (preprocess.ts's layout), from the raw inputs:
 *   numeric inputs  -> Concat -> Where(IsNaN, mean) -> (x - mean) / std
 *   categorical     -> OneHotEncoder(zeros=1) -> Flatten           (shared with other parts)
 *   imputed numeric -> Gather -> Greater(steps) -> Cast             (step columns, when fitted)
 */
export function emitEncoded(inputs: GraphInputs, pre: Preprocessor, prefix: string): string {
  const g = inputs.g;
  const features = pre.features;
  const parts: string[] = [];

  const numeric = features.filter((f) => f.kind === "numeric");
  let imputed: string | undefined;
  if (numeric.length > 0) {
    const raw = concatColumns(
      g,
      numeric.map((f) => f.input),
      `${prefix}numeric`,
    );
    const mean = g.floats(
      `${prefix}numeric_mean`,
      [numeric.length],
      numeric.map((f) => f.mean),
    );
    const std = g.floats(
      `${prefix}numeric_std`,
      [numeric.length],
      numeric.map((f) => f.std),
    );
    const missing = g.op("IsNaN", [raw], { hint: `${prefix}missing` });
    imputed = g.op("Where", [missing, mean, raw], { hint: `${prefix}imputed` });
    const centered = g.op("Sub", [imputed, mean], { hint: `${prefix}centered` });
    parts.push(g.op("Div", [centered, std], { hint: `${prefix}scaled` }));
  }

  const blocks = encodedBlocks(pre);
  features.forEach((f, j) => {
    if (f.kind === "categorical" && blocks[j]!.size > 0) parts.push(inputs.oneHot(f));
  });

  const steps = stepBlocks(pre);
  if (steps.length > 0 && imputed) {
    // Position of each numeric feature inside `imputed`, then one gathered copy per step column.
    const numericIndex = new Map(numeric.map((f, i) => [f.name, i]));
    const sources: number[] = [];
    const cuts: number[] = [];
    for (const { feature } of steps) {
      const f = features[feature]!;
      if (f.kind !== "numeric") continue;
      for (const cut of f.steps) {
        sources.push(numericIndex.get(f.name)!);
        cuts.push(cut);
      }
    }
    const indices = g.int64s(`${prefix}step_sources`, [sources.length], sources);
    const gathered = g.op("Gather", [imputed, indices], {
      attributes: [{ name: "axis", type: "int", value: 1 }],
      hint: `${prefix}step_inputs`,
    });
    const above = g.op("Greater", [gathered, g.floats(`${prefix}steps`, [cuts.length], cuts)], {
      hint: `${prefix}above`,
    });
    parts.push(
      g.op("Cast", [above], { attributes: [{ name: "to", type: "int", value: 1 }], hint: `${prefix}step` }),
    );
  }

  return concatColumns(g, parts, `${prefix}encoded`);
}
