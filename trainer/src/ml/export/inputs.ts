import { BATCH, type GraphBuilder, ML_DOMAIN } from "../onnx/graph.ts";
import { DataType } from "../onnx/model.ts";
import type { CategoricalEncoding, FeatureEncoding } from "../preprocess.ts";

/**
 * The raw inputs of a churn graph (one per feature: float [N,1] with NaN for missing, or string [N,1])
 * and the one-hot blocks built from them. Parts of an ensemble share one instance, so every input is
 * declared once and an identical one-hot block is computed once.
 */
export class GraphInputs {
  private readonly oneHots = new Map<string, string>();
  readonly g: GraphBuilder;

  constructor(g: GraphBuilder, features: readonly FeatureEncoding[]) {
    this.g = g;
    for (const f of features) {
      g.input({
        name: f.input,
        elemType: f.kind === "numeric" ? DataType.FLOAT : DataType.STRING,
        shape: [BATCH, 1],
      });
    }
  }

  /** [N, categories] float 0/1 columns; missing and unseen values give all zeros (zeros=1). */
  oneHot(f: CategoricalEncoding): string {
    const key = `${f.input}\u0000${f.categories.join("\u0000")}`;
    const cached = this.oneHots.get(key);
    if (cached) return cached;
    const g = this.g;
    const encoded = g.op("OneHotEncoder", [f.input], {
      domain: ML_DOMAIN,
      attributes: [
        { name: "cats_strings", type: "strings", value: f.categories },
        { name: "zeros", type: "int", value: 1 },
      ],
      hint: `onehot_${f.input}`,
    });
    // onnx's shape inference does not cover ai.onnx.ml ops; the checker needs the shape declared.
    g.valueInfo.push({ name: encoded, elemType: DataType.FLOAT, shape: [BATCH, 1, f.categories.length] });
    const flat = g.op("Flatten", [encoded], {
      attributes: [{ name: "axis", type: "int", value: 1 }],
      hint: `flat_${f.input}`,
    });
    this.oneHots.set(key, flat);
    return flat;
  }
}

/** Concatenates along axis 1, or passes a single part through. */
export function concatColumns(g: GraphBuilder, parts: string[], hint: string): string {
  if (parts.length === 1) return parts[0]!;
  return g.op("Concat", parts, { attributes: [{ name: "axis", type: "int", value: 1 }], hint });
}
