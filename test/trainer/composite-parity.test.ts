import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExplainerPackage } from "#shared/explainer.ts";
import { createExplainer } from "#shared/model-runtime/explainer.ts";
import { type Calibration, fitCalibration } from "../../trainer/src/ml/calibration.ts";
import { batchFromDataset, type FeatureBatch } from "../../trainer/src/ml/features.ts";
import { type ChurnModel, composeModel, type Member } from "../../trainer/src/ml/models/composite.ts";
import { averageGbdtModels, fitGbdt, type GbdtModel } from "../../trainer/src/ml/models/gbdt/model.ts";
import { GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import {
  fitLogisticModel,
  LOGISTIC_DEFAULTS,
  type LogisticModel,
} from "../../trainer/src/ml/models/logistic.ts";
import { fitMlpModel, MLP_DEFAULTS, type MlpModel } from "../../trainer/src/ml/models/mlp.ts";
import { checkParity, PARITY_TOLERANCE, runOnnx } from "../../trainer/src/ml/parity.ts";
import { range, telcoDataset } from "./fixtures.ts";

// onnx's own checker (Debian's python3-onnx): required in CI, used when present.
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const hasOnnxChecker = spawnSync(python, ["-c", "import onnx"], { stdio: "ignore" }).status === 0;
const checkerRuns = hasOnnxChecker || process.env["CI"] === "true";

const dataset = telcoDataset(1600, 11);
const trainRows = range(1200);
const testRows = range(400, 1200);
const holdout = batchFromDataset(dataset, testRows);
const gbdtParams = { ...GBDT_DEFAULTS, rounds: 40, earlyStoppingRounds: 0, maxDepth: 3 };

let plainLr: LogisticModel;
let steppedLr: LogisticModel;
let lassoLr: LogisticModel;
let trees: GbdtModel;
let moreTrees: GbdtModel;
let forest: GbdtModel;
let net: MlpModel;
let plainNet: MlpModel;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-composite-"));
  const set = { dataset, rows: trainRows };
  plainLr = fitLogisticModel(set, LOGISTIC_DEFAULTS);
  steppedLr = fitLogisticModel(set, { ...LOGISTIC_DEFAULTS, l2: 3, numericBins: 8 });
  lassoLr = fitLogisticModel(set, { ...LOGISTIC_DEFAULTS, l1: 3, numericBins: 8 });
  trees = fitGbdt(set, gbdtParams);
  moreTrees = fitGbdt(set, { ...gbdtParams, maxDepth: 2, seed: 5, colsampleByTree: 0.6 });
  forest = fitGbdt(set, {
    ...GBDT_DEFAULTS,
    forest: true,
    rounds: 60,
    learningRate: 1 / 60,
    maxDepth: 8,
    subsample: 0.632,
    colsampleByTree: 0.5,
    earlyStoppingRounds: 0,
    refit: false,
  });
  net = fitMlpModel(set, { ...MLP_DEFAULTS, epochs: 30 });
  plainNet = fitMlpModel(set, {
    ...MLP_DEFAULTS,
    hidden: 8,
    numericBins: 0,
    epochs: 20,
    patience: 0,
    seed: 9,
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Platt and isotonic maps fitted on the training rows' own margins (enough to exercise the graph). */
function calibrations(members: Member[]): Calibration[] {
  const margins = composeModel(members, { method: "none" }, {}).predictMargin(
    batchFromDataset(dataset, trainRows),
  );
  const y = trainRows.map((r) => dataset.target.y[r]!);
  return [{ method: "none" }, fitCalibration("platt", margins, y), fitCalibration("isotonic", margins, y)];
}

/** Rows with missing numerics, blank and unseen categories and extreme values. */
function awkward(model: ChurnModel): FeatureBatch {
  const rows = 12;
  const values: FeatureBatch["values"] = {};
  for (const f of model.features) {
    values[f.name] =
      f.type === "numeric"
        ? Float32Array.from({ length: rows }, (_, i) => [Number.NaN, 0, -1e6, 1e6, 12.5, 70][i % 6]!)
        : Array.from(
            { length: rows },
            (_, i) => ["", "never seen", ...f.categories][i % (f.categories.length + 2)]!,
          );
  }
  return { rows, values };
}

/** Sums baseMargin + Σ contributions per row. */
function explainedMargins(model: ChurnModel, batch: FeatureBatch): Float64Array {
  const phi = model.contributions(batch);
  const width = model.features.length;
  return Float64Array.from({ length: batch.rows }, (_, r) => {
    let sum = model.baseMargin;
    for (let j = 0; j < width; j++) sum += phi[r * width + j]!;
    return sum;
  });
}

const families: { name: string; members: () => Member[]; family: string; graphContributions: boolean }[] = [
  {
    name: "logistic regression",
    members: () => [{ model: plainLr, weight: 1 }],
    family: "logistic_regression",
    graphContributions: true,
  },
  {
    name: "logistic regression with step bins",
    members: () => [{ model: steppedLr, weight: 1 }],
    family: "logistic_regression",
    graphContributions: true,
  },
  {
    name: "lasso logistic regression",
    members: () => [{ model: lassoLr, weight: 1 }],
    family: "logistic_regression",
    graphContributions: true,
  },
  { name: "GBDT", members: () => [{ model: trees, weight: 1 }], family: "gbdt", graphContributions: false },
  {
    name: "random forest (deep trees on the base rate's gradients, leaves averaged)",
    members: () => [{ model: forest, weight: 1 }],
    family: "random_forest",
    graphContributions: false,
  },
  {
    name: "ensemble of a random forest and logistic regression",
    members: () => [
      { model: forest, weight: 0.4 },
      { model: steppedLr, weight: 0.6 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  {
    name: "seed-bagged GBDT (trees of two fits averaged)",
    members: () => [{ model: averageGbdtModels([trees, moreTrees], {}), weight: 1 }],
    family: "gbdt",
    graphContributions: false,
  },
  {
    name: "ensemble of two GBDTs (merged trees)",
    members: () => [
      { model: trees, weight: 0.7 },
      { model: moreTrees, weight: 0.3 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  {
    name: "ensemble of logistic regression and GBDT",
    members: () => [
      { model: steppedLr, weight: 0.4 },
      { model: trees, weight: 0.6 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  {
    name: "ensemble of two logistic regressions and a GBDT",
    members: () => [
      { model: plainLr, weight: 0.2 },
      { model: steppedLr, weight: 0.3 },
      { model: moreTrees, weight: 0.5 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  { name: "MLP", members: () => [{ model: net, weight: 1 }], family: "mlp", graphContributions: false },
  {
    name: "MLP without step columns",
    members: () => [{ model: plainNet, weight: 1 }],
    family: "mlp",
    graphContributions: false,
  },
  {
    name: "ensemble of logistic regression, GBDT and MLP",
    members: () => [
      { model: steppedLr, weight: 0.5 },
      { model: trees, weight: 0.3 },
      { model: net, weight: 0.2 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  {
    name: "ensemble of two MLPs",
    members: () => [
      { model: net, weight: 0.6 },
      { model: plainNet, weight: 0.4 },
    ],
    family: "ensemble",
    graphContributions: false,
  },
  {
    name: "ensemble of two logistic regressions",
    members: () => [
      { model: plainLr, weight: 0.5 },
      { model: lassoLr, weight: 0.5 },
    ],
    family: "ensemble",
    graphContributions: true,
  },
];

describe.each(families)("$name: one ONNX graph with calibration", (spec) => {
  it("matches the TS predictor on probability, margin and contributions for every calibration", async () => {
    for (const calibration of calibrations(spec.members())) {
      const model = composeModel(spec.members(), calibration, {});
      expect(model.family).toBe(spec.family);
      expect(model.graphContributions).toBe(spec.graphContributions);
      const onnx = model.toOnnx();
      for (const batch of [holdout, awkward(model)]) {
        const report = await checkParity(model, onnx, batch);
        expect(report.maxDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
        expect(report.maxMarginDiff).toBeDefined();
        if (spec.graphContributions) expect(report.maxContributionDiff).toBeDefined();
        else expect(report.maxAdditivityDiff).toBeDefined();
      }
      const outputs = await runOnnx(onnx, holdout);
      expect(outputs.contributions !== undefined).toBe(spec.graphContributions);
    }
  });

  it("explains exactly: baseMargin + Σ contributions = margin within 1e-6 on random rows", () => {
    const model = composeModel(spec.members(), { method: "platt", a: 0.9, b: 0.1 }, {});
    const rows = Array.from({ length: 64 }, (_, i) => (i * 7919) % dataset.rowCount);
    const batch = batchFromDataset(dataset, rows);
    const margins = model.predictMargin(batch);
    const explained = explainedMargins(model, batch);
    if (model.explainer) {
      // The package as the edge reads it: JSON, validated, compiled.
      const edge = createExplainer(parseExplainerPackage(JSON.parse(JSON.stringify(model.explainer))));
      const out = edge.explain(
        model.explainer.features.map((f) => batch.values[f.name]!),
        batch.rows,
      );
      const width = model.features.length;
      for (let r = 0; r < batch.rows; r++) {
        let sum = model.explainer.baseMargin;
        for (let j = 0; j < width; j++) sum += out.contributions[r * width + j]!;
        expect(Math.abs(sum - out.margins[r]!)).toBeLessThan(1e-6);
        expect(Math.abs(out.margins[r]! - margins[r]!)).toBeLessThan(1e-5);
      }
    }
    // Linear contributions are the graph's own float32 terms: they reproduce its float32 margin up to that
    // margin's last-bit rounding (relative 1e-6). TreeSHAP and DeepLIFT ones are float64 rounded to float32
    // afterwards.
    const tolerance = spec.graphContributions ? 1e-6 : 1e-5;
    for (let r = 0; r < batch.rows; r++) {
      expect(Math.abs(explained[r]! - margins[r]!)).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(margins[r]!)),
      );
    }
  });
});

// One Python process checks every family's graph with both calibrations (starting it dominates the cost).
it.runIf(checkerRuns)("every composed graph passes onnx.checker with full checks", async () => {
  const files: string[] = [];
  for (const [i, spec] of families.entries()) {
    const members = spec.members();
    const [, platt, isotonic] = calibrations(members);
    for (const calibration of [platt!, isotonic!]) {
      const file = path.join(dir, `${i}-${calibration.method}.onnx`);
      await writeFile(file, composeModel(members, calibration, {}).toOnnx());
      files.push(file);
    }
  }
  const script = [
    "import sys, onnx",
    "for f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)",
    "print(len(sys.argv) - 1)",
  ].join("\n");
  expect(execFileSync(python, ["-c", script, ...files], { encoding: "utf8" }).trim()).toBe(
    String(files.length),
  );
});

describe("ensemble margin", () => {
  it("is the weighted sum of the members' margins", () => {
    const members = [
      { model: steppedLr, weight: 0.4 },
      { model: trees, weight: 0.6 },
    ];
    const ensemble = composeModel(members, { method: "none" }, {}).predictMargin(holdout);
    const a = steppedLr.predictMargin(holdout);
    const b = trees.predictMargin(holdout);
    for (let i = 0; i < holdout.rows; i++) expect(ensemble[i]).toBeCloseTo(0.4 * a[i]! + 0.6 * b[i]!, 4);
  });

  it("scales a network member by its weight", () => {
    const members = [
      { model: trees, weight: 0.7 },
      { model: net, weight: 0.3 },
    ];
    const ensemble = composeModel(members, { method: "none" }, {}).predictMargin(holdout);
    const a = trees.predictMargin(holdout);
    const b = net.predictMargin(holdout);
    for (let i = 0; i < holdout.rows; i++) expect(ensemble[i]).toBeCloseTo(0.7 * a[i]! + 0.3 * b[i]!, 4);
  });
});
