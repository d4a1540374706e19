import type { FeatureBatch } from "./features.ts";
import type { Member } from "./models/composite.ts";
import { treeColumns } from "./models/gbdt/encoding.ts";
import { featureImportance } from "./models/gbdt/model.ts";

export interface ImportanceShare {
  feature: string;
  /** Share of the model's importance, summing to 1 over features. */
  gain: number;
  /** Tree splits on the feature (0 for linear and network members). */
  splits: number;
}

/**
 * Global importance comparable across families: a tree member's split gain per feature, a linear or
 * network member's mean |contribution| over `rows` (its exact additive attribution), each normalised to
 * shares and then averaged with the ensemble weights.
 */
export function globalImportance(members: readonly Member[], rows: FeatureBatch): ImportanceShare[] {
  const names = members[0]!.model.features.map((f) => f.name);
  const total = new Map(names.map((n) => [n, { feature: n, gain: 0, splits: 0 }]));
  for (const { model, weight } of members) {
    const raw =
      model.family === "gbdt" || model.family === "random_forest"
        ? featureImportance(
            model.data,
            treeColumns(model.data.preprocessor).columns.map((c) => c.feature),
          )
        : meanAbsoluteContributions(names, model.contributions(rows), rows.rows);
    const sum = raw.reduce((s, r) => s + r.gain, 0);
    for (const r of raw) {
      const entry = total.get(r.feature)!;
      entry.gain += sum > 0 ? (weight * r.gain) / sum : 0;
      entry.splits += r.splits;
    }
  }
  return [...total.values()].sort((a, b) => b.gain - a.gain);
}

function meanAbsoluteContributions(names: readonly string[], phi: Float32Array, rows: number) {
  const width = names.length;
  const sums = new Float64Array(width);
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) sums[j]! += Math.abs(phi[i * width + j]!);
  return names.map((feature, j) => ({ feature, gain: sums[j]! / Math.max(rows, 1), splits: 0 }));
}
