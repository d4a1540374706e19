import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_BOUNDS } from "#shared/onnx/model-bounds.ts";
import { checkModelSafety } from "#shared/onnx/model-safety.ts";
import { type Calibration, fitCalibration } from "../../trainer/src/ml/calibration.ts";
import { batchFromDataset } from "../../trainer/src/ml/features.ts";
import { composeModel, type Member } from "../../trainer/src/ml/models/composite.ts";
import { fitGbdt, type GbdtModel } from "../../trainer/src/ml/models/gbdt/model.ts";
import { GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import {
  fitLogisticModel,
  LOGISTIC_DEFAULTS,
  type LogisticModel,
} from "../../trainer/src/ml/models/logistic.ts";
import { fitMlpModel, MLP_DEFAULTS, type MlpModel } from "../../trainer/src/ml/models/mlp.ts";
import { range, telcoDataset } from "./fixtures.ts";

/**
 * The publish safety check (shared/src/onnx/) against every graph the trainer exports: each family and
 * ensemble, with each calibration, must pass, and stay well inside the bounds. A new operator or a bigger
 * graph in the exporter fails here first, before models are refused at publish.
 */

const dataset = telcoDataset(900, 5);
const trainRows = range(900);

let lr: LogisticModel;
let steppedLr: LogisticModel;
let trees: GbdtModel;
let forest: GbdtModel;
let net: MlpModel;

beforeAll(() => {
  const set = { dataset, rows: trainRows };
  lr = fitLogisticModel(set, LOGISTIC_DEFAULTS);
  steppedLr = fitLogisticModel(set, { ...LOGISTIC_DEFAULTS, l1: 3, numericBins: 8 });
  trees = fitGbdt(set, { ...GBDT_DEFAULTS, rounds: 30, earlyStoppingRounds: 0, maxDepth: 4 });
  forest = fitGbdt(set, {
    ...GBDT_DEFAULTS,
    forest: true,
    rounds: 40,
    learningRate: 1 / 40,
    maxDepth: 8,
    subsample: 0.632,
    colsampleByTree: 0.5,
    earlyStoppingRounds: 0,
    refit: false,
  });
  net = fitMlpModel(set, { ...MLP_DEFAULTS, epochs: 10 });
});

function calibrations(members: Member[]): Calibration[] {
  const margins = composeModel(members, { method: "none" }, {}).predictMargin(
    batchFromDataset(dataset, trainRows),
  );
  const y = trainRows.map((r) => dataset.target.y[r]!);
  return [{ method: "none" }, fitCalibration("platt", margins, y), fitCalibration("isotonic", margins, y)];
}

const families: { name: string; members: () => Member[] }[] = [
  { name: "logistic regression", members: () => [{ model: lr, weight: 1 }] },
  { name: "logistic regression with step columns", members: () => [{ model: steppedLr, weight: 1 }] },
  { name: "GBDT", members: () => [{ model: trees, weight: 1 }] },
  { name: "random forest", members: () => [{ model: forest, weight: 1 }] },
  { name: "MLP", members: () => [{ model: net, weight: 1 }] },
  {
    name: "ensemble of logistic regression, GBDT and MLP",
    members: () => [
      { model: steppedLr, weight: 0.5 },
      { model: trees, weight: 0.3 },
      { model: net, weight: 0.2 },
    ],
  },
  {
    name: "ensemble of GBDT and random forest (merged trees)",
    members: () => [
      { model: trees, weight: 0.5 },
      { model: forest, weight: 0.5 },
    ],
  },
  {
    name: "ensemble of two logistic regressions",
    members: () => [
      { model: lr, weight: 0.5 },
      { model: steppedLr, weight: 0.5 },
    ],
  },
];

describe.each(families)("$name", ({ members }) => {
  it("passes the publish safety check with every calibration, far inside the bounds", () => {
    for (const calibration of calibrations(members())) {
      const footprint = checkModelSafety(composeModel(members(), calibration, {}).toOnnx());
      // Real models sit orders of magnitude under the bounds, so the headroom claimed there holds.
      expect(footprint.nodes).toBeLessThan(MODEL_BOUNDS.maxNodes / 20);
      expect(footprint.initializerElements).toBeLessThan(MODEL_BOUNDS.maxInitializerElements / 1000);
      expect(footprint.treeNodes).toBeLessThan(MODEL_BOUNDS.maxTreeNodes / 100);
      expect(footprint.treeStepsPerRecord).toBeLessThan(MODEL_BOUNDS.maxTreeStepsPerRecord / 100);
      expect(footprint.multiplyAddsPerRecord).toBeLessThan(MODEL_BOUNDS.maxMultiplyAddsPerRecord / 1000);
      expect(footprint.elementsPerRecord).toBeGreaterThan(0);
    }
  });
});
