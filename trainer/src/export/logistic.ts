import type { LogisticModelData } from "../models/logistic.ts";
import { BATCH, GraphBuilder, IR_VERSION, ML_DOMAIN, ML_OPSET, OPSET } from "../onnx/graph.ts";
import { DataType, encodeModel } from "../onnx/model.ts";
import { encodedBlocks } from "../preprocess.ts";

/**
 * Logistic regression with its preprocessing as one ONNX graph:
 *   numeric inputs  -> Concat -> Where(IsNaN, mean) -> (x - mean) / std
 *   categorical     -> ai.onnx.ml OneHotEncoder(zeros=1) -> Flatten
 *   encoded [N,W]   -> MatMul(block weights [W,F]) - offsets[F] = contributions [N,F]
 *   margin = ReduceSum(contributions) + baseMargin; probability = Sigmoid(margin)
 * Every contribution column has exactly one non-zero product per row, so the graph's float32 arithmetic
 * is reproducible bit-for-bit (up to the final sum) by the TS predictor.
 */
export function exportLogisticOnnx(data: LogisticModelData): Uint8Array {
  const pre = data.preprocessor;
  const g = new GraphBuilder();
  const features = pre.features;
  const blocks = encodedBlocks(pre);

  for (const f of features) {
    g.input({
      name: f.name,
      elemType: f.kind === "numeric" ? DataType.FLOAT : DataType.STRING,
      shape: [BATCH, 1],
    });
  }

  const encodedParts: string[] = [];
  const numeric = features.filter((f) => f.kind === "numeric");
  if (numeric.length > 0) {
    const raw =
      numeric.length > 1
        ? g.op(
            "Concat",
            numeric.map((f) => f.name),
            { attributes: [{ name: "axis", type: "int", value: 1 }], hint: "numeric" },
          )
        : numeric[0]!.name;
    const mean = g.floats(
      "numeric_mean",
      [numeric.length],
      numeric.map((f) => f.mean),
    );
    const std = g.floats(
      "numeric_std",
      [numeric.length],
      numeric.map((f) => f.std),
    );
    const missing = g.op("IsNaN", [raw], { hint: "missing" });
    const imputed = g.op("Where", [missing, mean, raw], { hint: "imputed" });
    const centered = g.op("Sub", [imputed, mean], { hint: "centered" });
    encodedParts.push(g.op("Div", [centered, std], { hint: "scaled" }));
  }

  for (const f of features) {
    if (f.kind !== "categorical") continue;
    const oneHot = g.op("OneHotEncoder", [f.name], {
      domain: ML_DOMAIN,
      attributes: [
        { name: "cats_strings", type: "strings", value: f.categories },
        { name: "zeros", type: "int", value: 1 },
      ],
      hint: `onehot_${f.name}`,
    });
    g.valueInfo.push({ name: oneHot, elemType: DataType.FLOAT, shape: [BATCH, 1, f.categories.length] });
    encodedParts.push(
      g.op("Flatten", [oneHot], {
        attributes: [{ name: "axis", type: "int", value: 1 }],
        hint: `flat_${f.name}`,
      }),
    );
  }

  const encoded =
    encodedParts.length > 1
      ? g.op("Concat", encodedParts, {
          attributes: [{ name: "axis", type: "int", value: 1 }],
          hint: "encoded",
        })
      : encodedParts[0]!;

  // Block matrix: encoded column k feeds only the contribution of the feature it came from.
  const nFeatures = features.length;
  const matrix = new Float32Array(pre.width * nFeatures);
  blocks.forEach(({ offset, size }, j) => {
    for (let k = offset; k < offset + size; k++) matrix[k * nFeatures + j] = data.weights[k]!;
  });
  const weights = g.floats("weights", [pre.width, nFeatures], matrix);
  const offsets = g.floats("feature_offsets", [nFeatures], data.featureOffsets);
  const weighted = g.op("MatMul", [encoded, weights], { hint: "weighted" });
  g.op("Sub", [weighted, offsets], { output: "contributions" });

  const axes = g.int64s("sum_axes", [1], [1]);
  const delta = g.op("ReduceSum", ["contributions", axes], {
    attributes: [{ name: "keepdims", type: "int", value: 1 }],
    hint: "margin_delta",
  });
  const base = g.floats("base_margin", [1], [data.baseMargin]);
  const margin = g.op("Add", [delta, base], { hint: "margin" });
  g.op("Sigmoid", [margin], { output: "probability" });

  g.output({ name: "probability", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  g.output({ name: "contributions", elemType: DataType.FLOAT, shape: [BATCH, nFeatures] });

  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [
      { domain: "", version: OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: "churn-trainer",
    producerVersion: "1",
    docString: "Logistic regression churn model: probability and exact per-feature margin contributions.",
    graph: g.build("churn_logistic_regression"),
  });
}
