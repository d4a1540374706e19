import type { MlpModelData } from "../models/mlp.ts";
import type { GraphInputs } from "./inputs.ts";
import { emitEncoded } from "./logistic.ts";

/**
 * Emits one network part and returns its margin [N,1]:
 *   encoded [N,W] (emitEncoded) -> Gemm(W1ᵀ, b1) -> Relu -> Gemm(w2ᵀ, b2)
 */
export function emitMlpMargin(
  inputs: GraphInputs,
  data: MlpModelData,
  prefix: string,
  output?: string,
): string {
  const g = inputs.g;
  const width = data.preprocessor.width;
  const encoded = emitEncoded(inputs, data.preprocessor, prefix);
  const transB = [{ name: "transB", type: "int" as const, value: 1 }];
  const hidden = g.op(
    "Gemm",
    [
      encoded,
      g.floats(`${prefix}w1`, [data.hidden, width], data.w1),
      g.floats(`${prefix}b1`, [data.hidden], data.b1),
    ],
    { attributes: transB, hint: `${prefix}hidden_in` },
  );
  const active = g.op("Relu", [hidden], { hint: `${prefix}hidden` });
  return g.op(
    "Gemm",
    [active, g.floats(`${prefix}w2`, [1, data.hidden], data.w2), g.floats(`${prefix}b2`, [1], [data.b2])],
    { attributes: transB, ...(output ? { output } : { hint: `${prefix}margin` }) },
  );
}
