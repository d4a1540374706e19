import { ChurnError } from "#shared/errors.ts";
import type { ExplainerLinear, ExplainerMlp } from "#shared/explainer.ts";
import type { ModelFamily } from "#shared/manifest.ts";
import { createExplainer, type RawColumns } from "#shared/model-runtime/explainer.ts";
import { type Calibration, calibrate } from "../calibration.ts";
import { createExplainerPackage } from "../explain/explainer-writer.ts";
import { exportChurnGraph } from "../export/churn-graph.ts";
import { categoricalInput, chunked, type FeatureBatch, numericInput } from "../features.ts";
import { encode, encodedBlocks, type Preprocessor, stepBlocks } from "../preprocess.ts";
import { encodeForTrees, treeColumns } from "./gbdt/encoding.ts";
import { explainerFeatures, type GbdtModel, type GbdtModelData } from "./gbdt/model.ts";
import { predictMargins, type Tree } from "./gbdt/tree.ts";
import {
  type LogisticModel,
  type LogisticModelData,
  logisticContributions,
  scaleLogisticData,
} from "./logistic.ts";
import { type MlpModel, type MlpModelData, mlpMargins, scaleMlpData } from "./mlp.ts";
import type { Model } from "./model.ts";

const f32 = Math.fround;

export interface Member {
  model: LogisticModel | GbdtModel | MlpModel;
  /** Share of the ensemble margin; members' weights sum to 1. */
  weight: number;
}

/**
 * The model the trainer ships: one or more members whose margins are averaged with fixed weights, then
 * calibrated. Trees of all tree members are merged into one ensemble (leaf values scaled by their
 * member's weight), linear members keep their own encodings and networks their own layers (output layer
 * scaled), so the TS predictor, the ONNX graph and the explainer all compute margin = Σ weight · member
 * margin.
 */
export interface ChurnModel extends Model {
  readonly family: ModelFamily;
  readonly calibration: Calibration;
  readonly trees: GbdtModelData | undefined;
  readonly linear: readonly LogisticModelData[];
  readonly mlp: readonly MlpModelData[];
  /** True when the graph outputs `contributions` (purely linear models). */
  readonly graphContributions: boolean;
  predictProbability(batch: FeatureBatch): Float32Array;
}

export function composeModel(
  members: readonly Member[],
  calibration: Calibration,
  params: Record<string, unknown>,
): ChurnModel {
  if (members.length === 0) throw new ChurnError("INTERNAL", "An ensemble needs at least one member");
  const reference = JSON.stringify(members[0]!.model.features);
  for (const m of members) {
    if (JSON.stringify(m.model.features) !== reference) {
      throw new ChurnError("INTERNAL", "Ensemble members must share the same raw features and categories");
    }
  }
  const treeMembers = members.filter(
    (m): m is Member & { model: GbdtModel } =>
      m.model.family === "gbdt" || m.model.family === "random_forest",
  );
  const linearMembers = members.filter(
    (m): m is Member & { model: LogisticModel } => m.model.family === "logistic_regression",
  );
  const networkMembers = members.filter((m): m is Member & { model: MlpModel } => m.model.family === "mlp");
  const trees = treeMembers.length > 0 ? mergeTrees(treeMembers) : undefined;
  const linear = linearMembers.map((m) =>
    m.weight === 1 ? m.model.data : scaleLogisticData(m.model.data, m.weight),
  );
  const mlp = networkMembers.map((m) =>
    m.weight === 1 ? m.model.data : scaleMlpData(m.model.data, m.weight),
  );
  const pre: Preprocessor = trees?.preprocessor ?? linear[0]?.preprocessor ?? mlp[0]!.preprocessor;
  const features = members[0]!.model.features;
  const family: ModelFamily = members.length > 1 ? "ensemble" : members[0]!.model.family;

  // Trees and networks explain through the package (TreeSHAP, DeepLIFT); a purely linear graph outputs
  // its own exact contributions.
  const explainer =
    trees || mlp.length > 0
      ? createExplainerPackage({
          features: explainerFeatures(pre),
          columns: trees ? treeColumns(trees.preprocessor).columns : [],
          baseScore: trees?.baseScore ?? 0,
          trees: trees ? trees.trees.map((t) => ({ ...t, feature: t.column })) : [],
          linear: linear.map(linearExplainerPart),
          mlp: mlp.map(mlpExplainerPart),
        })
      : undefined;
  const compiledExplainer = explainer ? createExplainer(explainer) : undefined;
  const rawColumns = (batch: FeatureBatch): RawColumns =>
    pre.features.map((f) =>
      f.kind === "numeric" ? numericInput(batch, f.name) : categoricalInput(batch, f.name),
    );

  // The linear parts' contributions added element-wise in float32 (the graph's Add), then summed per row.
  const linearContributions = (batch: FeatureBatch): Float32Array | undefined => {
    let total: Float32Array | undefined;
    for (const part of linear) {
      const c = logisticContributions(part, batch);
      if (!total) total = c;
      else for (let i = 0; i < c.length; i++) total[i] = total[i]! + c[i]!;
    }
    return total;
  };
  let linearBase = 0;
  for (const part of linear) linearBase = f32(linearBase + part.baseMargin);

  // Parts are added in the graph's order: trees, the linear parts' margin, then each network.
  const predictMargin = chunked((batch: FeatureBatch): Float32Array => {
    const out = trees
      ? predictMargins(trees.trees, trees.baseScore, encodeForTrees(trees.preprocessor, batch), batch.rows)
      : new Float32Array(batch.rows);
    const phi = linearContributions(batch);
    if (phi) {
      const width = features.length;
      for (let i = 0; i < batch.rows; i++) {
        let sum = 0;
        for (let j = 0; j < width; j++) sum += phi[i * width + j]!;
        const margin = f32(f32(sum) + linearBase);
        out[i] = trees ? f32(out[i]! + margin) : margin;
      }
    }
    for (const net of mlp) {
      // Into zeros when it is the first part: 0 + m is m exactly, as in the graph (no Add at all).
      const m = mlpMargins(net, encode(net.preprocessor, batch), batch.rows);
      for (let i = 0; i < batch.rows; i++) out[i] = f32(out[i]! + m[i]!);
    }
    return out;
  });

  const contributions = chunked((batch: FeatureBatch): Float32Array => {
    if (compiledExplainer) {
      return Float32Array.from(compiledExplainer.explain(rawColumns(batch), batch.rows).contributions);
    }
    return linearContributions(batch)!;
  }, features.length);

  return {
    family,
    features,
    baseMargin: explainer ? explainer.baseMargin : linearBase,
    params,
    calibration,
    trees,
    linear,
    mlp,
    graphContributions: !explainer,
    ...(explainer ? { explainer } : {}),
    predictMargin,
    predictProbability: (batch) => calibrate(calibration, predictMargin(batch)),
    contributions,
    toOnnx: () =>
      exportChurnGraph({
        features: pre.features,
        ...(trees ? { trees } : {}),
        linear,
        mlp,
        calibration,
        contributions: !explainer,
        name: `churn_${family}`,
        docString: `Churn model (${family}): calibrated probability (${calibration.method}) and margin (log-odds)${explainer ? "" : " with exact per-feature contributions"}.`,
      }),
  };
}

/** One tree ensemble for all tree members: leaf values and base scores scaled by the member's weight. */
function mergeTrees(members: readonly (Member & { model: GbdtModel })[]): GbdtModelData {
  if (members.length === 1 && members[0]!.weight === 1) return members[0]!.model.data;
  const trees: Tree[] = [];
  let baseScore = 0;
  for (const { model, weight } of members) {
    baseScore += weight * model.data.baseScore;
    for (const t of model.data.trees) {
      trees.push({ ...t, value: t.value.map((v) => v * weight), gain: t.gain.map((g) => g * weight) });
    }
  }
  return { preprocessor: members[0]!.model.data.preprocessor, trees, baseScore: f32(baseScore) };
}

/** A network's layers and encoding in the explainer package's format. */
export function mlpExplainerPart(data: MlpModelData): ExplainerMlp {
  const pre = data.preprocessor;
  const numeric: ExplainerMlp["numeric"] = [];
  const categorical: ExplainerMlp["categorical"] = [];
  pre.features.forEach((f, j) => {
    if (f.kind === "numeric") numeric.push({ feature: j, mean: f.mean, std: f.std, steps: [...f.steps] });
    else categorical.push({ feature: j, categories: [...f.categories] });
  });
  return {
    numeric,
    categorical,
    hidden: data.hidden,
    w1: Array.from(data.w1),
    b1: Array.from(data.b1),
    w2: Array.from(data.w2),
    b2: data.b2,
    reference: Array.from(data.reference),
  };
}

/** A linear model's terms in the explainer package's format. */
export function linearExplainerPart(data: LogisticModelData): ExplainerLinear {
  const pre = data.preprocessor;
  const blocks = encodedBlocks(pre);
  const steps = new Map(stepBlocks(pre).map((b) => [b.feature, b]));
  const part: ExplainerLinear = {
    intercept: data.intercept,
    offsets: Array.from(data.featureOffsets),
    numeric: [],
    categorical: [],
  };
  pre.features.forEach((f, j) => {
    const { offset, size } = blocks[j]!;
    if (f.kind === "numeric") {
      const step = steps.get(j);
      part.numeric.push({
        feature: j,
        mean: f.mean,
        std: f.std,
        weight: data.weights[offset]!,
        steps: [...f.steps],
        stepWeights: step ? Array.from(data.weights.subarray(step.offset, step.offset + step.size)) : [],
      });
    } else {
      part.categorical.push({
        feature: j,
        categories: [...f.categories],
        weights: Array.from(data.weights.subarray(offset, offset + size)),
      });
    }
  });
  return part;
}
