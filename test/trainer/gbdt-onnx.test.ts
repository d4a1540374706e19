import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { buildDataset, type Dataset, loadDataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { batchFromDataset, type FeatureBatch } from "../../trainer/src/ml/features.ts";
import { logLoss, rocAuc } from "../../trainer/src/ml/metrics.ts";
import { fitGbdt, type GbdtModel } from "../../trainer/src/ml/models/gbdt/model.ts";
import { GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import { sigmoid } from "../../trainer/src/ml/models/model.ts";
import { PARITY_TOLERANCE } from "../../trainer/src/ml/parity.ts";
import { loadSplit, stratifiedSplit } from "../../trainer/src/ml/split.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const sharedData = path.resolve(repoRoot, "../shared/data");

ort.env.wasm.numThreads = 1;

// onnx's own checker (Debian's python3-onnx, installed by .ci/run): required in CI, used when present.
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const hasOnnxChecker = spawnSync(python, ["-c", "import onnx"], { stdio: "ignore" }).status === 0;

/**
 * Scores a batch with onnxruntime-web. The GBDT graph outputs `probability` and `margin` (its
 * contributions come from the explainer package), so parity.ts's runOnnx, which also requires a
 * `contributions` output, does not apply to it as is.
 */
async function scoreOnnx(bytes: Uint8Array, batch: FeatureBatch) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const values = batch.values[name]!;
      feeds[name] =
        values instanceof Float32Array
          ? new ort.Tensor("float32", values, [batch.rows, 1])
          : new ort.Tensor("string", values, [batch.rows, 1]);
    }
    const out = await session.run(feeds);
    return {
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      probability: out["probability"]!.data as Float32Array,
      margin: out["margin"]!.data as Float32Array,
    };
  } finally {
    await session.release();
  }
}

async function expectParity(model: GbdtModel, batch: FeatureBatch): Promise<number> {
  const onnx = await scoreOnnx(model.toOnnx(), batch);
  const margins = model.predictMargin(batch);
  let maxDiff = 0;
  for (let r = 0; r < batch.rows; r++) {
    maxDiff = Math.max(
      maxDiff,
      Math.abs(onnx.probability[r]! - sigmoid(margins[r]!)),
      Math.abs(onnx.margin[r]! - margins[r]!),
    );
  }
  expect(maxDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
  return maxDiff;
}

/** Synthetic Telco customers with extra blanks in two numeric columns. */
function syntheticTelco(rows: number, seed: number): Dataset {
  const records = generateTelco(rows, seed);
  const blank = (column: string, i: number) =>
    (column === "MonthlyCharges" && i % 9 === 0) || (column === "tenure" && i % 13 === 0);
  const columns = TELCO_COLUMNS.map((c) => records.map((r, i) => (blank(c, i) ? "" : r[c])));
  return buildDataset(
    [...TELCO_COLUMNS],
    columns,
    records.map((_, i) => i + 2),
    { target: "Churn", positive: "Yes", drop: ["customerID"] },
  );
}

/** Rows that probe the edges: values exactly at split thresholds and just above, NaN, blanks, unseen. */
function awkwardRows(model: GbdtModel, template: FeatureBatch): FeatureBatch {
  const rows = 64;
  const random = (i: number) => ((i * 2654435761) >>> 0) / 2 ** 32;
  const values: FeatureBatch["values"] = {};
  const thresholds = new Map<string, number[]>();
  const columns = model.explainer.columns;
  for (const tree of model.data.trees) {
    for (let n = 0; n < tree.column.length; n++) {
      const c = tree.column[n]!;
      if (c < 0 || columns[c]!.category !== undefined) continue;
      const name = model.features[columns[c]!.feature]!.name;
      thresholds.set(name, [...(thresholds.get(name) ?? []), tree.threshold[n]!]);
    }
  }
  for (const spec of model.features) {
    const source = template.values[spec.name]!;
    if (spec.type === "numeric") {
      const cuts = thresholds.get(spec.name) ?? [0];
      values[spec.name] = Float32Array.from({ length: rows }, (_, i) => {
        const t = cuts[i % cuts.length]!;
        const kind = i % 6;
        if (kind === 0) return t;
        if (kind === 1) return t + Math.abs(t) * 1e-6 + 1e-30; // just above: goes right
        if (kind === 2) return Number.NaN;
        if (kind === 3) return i % 2 ? 1e30 : -1e30;
        return (source as Float32Array)[i % template.rows]!;
      });
    } else {
      const categories = spec.categories;
      values[spec.name] = Array.from({ length: rows }, (_, i) =>
        i % 5 === 0
          ? ""
          : i % 7 === 0
            ? "never seen"
            : categories[Math.floor(random(i) * categories.length)]!,
      );
    }
  }
  return { rows, values };
}

describe("GBDT ONNX export", () => {
  const dataset = syntheticTelco(3000, 7);
  const split = stratifiedSplit(dataset.target.y, 3);
  const model = fitGbdt({ dataset, rows: split.train }, GBDT_DEFAULTS);
  const holdout = batchFromDataset(dataset, split.test);

  it("declares one input per raw feature and outputs probability and margin", async () => {
    const onnx = await scoreOnnx(model.toOnnx(), holdout);
    expect(onnx.inputNames.sort()).toEqual(model.features.map((f) => f.name).sort());
    expect(onnx.outputNames.sort()).toEqual(["margin", "probability"]);
    expect(model.family).toBe("gbdt");
  });

  it("scores like the TS predictor within 1e-5, missing numerics included", async () => {
    const maxDiff = await expectParity(model, holdout);
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it("agrees on thresholds hit exactly, NaN, extremes, blank and unseen categories", async () => {
    await expectParity(model, awkwardRows(model, holdout));
  });

  it.skipIf(!hasOnnxChecker && process.env["CI"] !== "true")(
    "passes onnx.checker with full checks (ml opset 3 tree ensemble, declared shapes)",
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "churn-gbdt-onnx-"));
      try {
        const file = path.join(dir, "model.onnx");
        await writeFile(file, model.toOnnx());
        const script = [
          "import sys, onnx",
          "m = onnx.load(sys.argv[1])",
          "onnx.checker.check_model(m, full_check=True)",
          "print([o.name for o in m.graph.output])",
        ].join("\n");
        expect(execFileSync(python, ["-c", script, file], { encoding: "utf8" })).toContain("margin");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("separates churners on a synthetic holdout", () => {
    const y = Uint8Array.from(split.test, (r) => dataset.target.y[r]!);
    expect(rocAuc(y, model.predictMargin(holdout))).toBeGreaterThan(0.8);
    expect(model.importance[0]!.gain).toBeGreaterThan(0);
    expect(model.params["trees"]).toBe(model.data.trees.length);
  });
});

interface RealData {
  name: string;
  csv: string;
  target: string;
  positive: string;
  drop: string[];
  minAuc: number;
}

const REAL: RealData[] = [
  {
    name: "telco",
    csv: "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv",
    target: "Churn",
    positive: "Yes",
    drop: ["customerID"],
    minAuc: 0.84,
  },
  {
    name: "bank",
    csv: "bank/Churn_Modelling.csv",
    target: "Exited",
    positive: "1",
    drop: ["RowNumber", "CustomerId", "Surname"],
    minAuc: 0.86,
  },
];

// Needs ../shared/data (present in CI); skipped in a clone without it.
describe.each(REAL)("GBDT on the real $name data (fixed split.json)", (data) => {
  const csv = path.join(sharedData, data.csv);
  const splitFile = path.join(path.dirname(csv), "split.json");
  const present = existsSync(csv) && existsSync(splitFile);

  it.runIf(present)("beats the holdout AUC floor and passes ONNX parity", async () => {
    const dataset = await loadDataset(csv, { target: data.target, positive: data.positive, drop: data.drop });
    const split = await loadSplit(splitFile, dataset.rowCount);
    const model = fitGbdt({ dataset, rows: split.train }, GBDT_DEFAULTS);
    const holdout = batchFromDataset(dataset, split.test);
    const y = Uint8Array.from(split.test, (r) => dataset.target.y[r]!);
    const margins = model.predictMargin(holdout);
    const auc = rocAuc(y, margins);
    const loss = logLoss(y, Array.from(margins, sigmoid));
    console.info(
      `${data.name} holdout: AUC ${auc.toFixed(4)}, log loss ${loss.toFixed(4)}, ${model.params["trees"]} trees`,
    );
    expect(auc).toBeGreaterThanOrEqual(data.minAuc);
    await expectParity(model, holdout);
  });
});
