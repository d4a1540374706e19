import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import { manifestSchema } from "#shared/manifest.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { loadDataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { batchFromDataset } from "../../trainer/src/ml/features.ts";
import { LOGISTIC_DEFAULTS, logisticTrainer } from "../../trainer/src/ml/models/logistic.ts";
import type { Model } from "../../trainer/src/ml/models/model.ts";
import { checkParity, runOnnx } from "../../trainer/src/ml/parity.ts";
import { stratifiedSplit } from "../../trainer/src/ml/split.ts";
import { trainToDirectory } from "../../trainer/src/pipeline/train.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const telcoDir = path.resolve(repoRoot, "../shared/data/telco");
const telcoCsv = path.join(telcoDir, "WA_Fn-UseC_-Telco-Customer-Churn.csv");
const telcoSplit = path.join(telcoDir, "split.json");
const hasTelco = existsSync(telcoCsv) && existsSync(telcoSplit);

let dir: string;
let csvPath: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-trainer-"));
  csvPath = path.join(dir, "telco-synthetic.csv");
  await writeFile(csvPath, toCsv(generateTelco(3000, 7), TELCO_COLUMNS));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("train + ONNX export", () => {
  it("trains on synthetic Telco data, passes parity and writes a valid manifest", async () => {
    const out = path.join(dir, "model");
    const result = await trainToDirectory({
      data: csvPath,
      target: "Churn",
      positive: "Yes",
      out,
      seed: 7,
      model: "logistic_regression",
      timeBudget: 10,
    });

    expect(result.parity.maxDiff).toBeLessThanOrEqual(1e-5);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.75);
    expect(result.rows).toEqual({ train: 2400, holdout: 600 });
    expect(result.warnings.join()).toMatch(/customerID/);

    const manifest = manifestSchema.parse(
      JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8")),
    );
    const onnx = await readFile(path.join(out, "model.onnx"));
    expect(manifest.onnx).toMatchObject({ bytes: onnx.length, irVersion: 8, opset: 17 });
    expect(manifest.onnx.sha256).toBe(await sha256Hex(onnx));
    expect(manifest.lineage.dataFingerprint).toBe(await sha256Hex(await readFile(csvPath)));
    expect(manifest.family).toBe("logistic_regression");
    expect(manifest.name).toBe("churn");
    expect(manifest.features.map((f) => f.name)).toEqual(
      TELCO_COLUMNS.filter((c) => c !== "customerID" && c !== "Churn"),
    );
    const totalCharges = manifest.features.find((f) => f.name === "TotalCharges");
    expect(totalCharges).toMatchObject({ type: "numeric", required: false });
    expect(manifest.features.find((f) => f.name === "Contract")).toMatchObject({
      type: "categorical",
      categories: ["Month-to-month", "One year", "Two year"],
    });
    expect(manifest.outputs.contributions?.name).toBe("contributions");
    expect(manifest.riskBands).toEqual({ medium: 0.3, high: 0.6 });

    const metrics = JSON.parse(await readFile(path.join(out, "metrics.json"), "utf8"));
    expect(metrics.holdout.roc_auc).toBe(result.metrics.roc_auc);
    expect(metrics.rows).toEqual({ train: 2400, holdout: 600 });
  });

  describe("parity on awkward inputs", () => {
    let model: Model;
    let onnx: Uint8Array;

    beforeAll(async () => {
      const dataset = await loadDataset(csvPath, { target: "Churn", positive: "Yes" });
      const split = stratifiedSplit(dataset.target.y, 1);
      model = logisticTrainer.fit({ dataset, rows: split.train }, LOGISTIC_DEFAULTS);
      onnx = model.toOnnx();
      await checkParity(model, onnx, batchFromDataset(dataset, split.test));
    });

    it("imputes NaN and encodes unseen or blank categories as zeros, like the TS predictor", async () => {
      const rows = 4;
      const values: Record<string, Float32Array | string[]> = {};
      for (const f of model.features) {
        values[f.name] =
          f.type === "numeric"
            ? Float32Array.of(Number.NaN, 0, 1e6, 12.5)
            : ["never seen", "", f.categories[0]!, f.categories.at(-1)!];
      }
      const batch = { rows, values };
      const report = await checkParity(model, onnx, batch);
      expect(report.maxDiff).toBeLessThanOrEqual(1e-5);
      const { contributions } = await runOnnx(onnx, batch);
      expect(contributions?.length).toBe(rows * model.features.length);
    });

    it("fails with INVALID_MODEL when the graph and the predictor disagree", async () => {
      const skewed: Model = { ...model, predictMargin: (b) => model.predictMargin(b).map((m) => m + 0.01) };
      const dataset = await loadDataset(csvPath, { target: "Churn", positive: "Yes" });
      const error = await checkParity(skewed, onnx, batchFromDataset(dataset, [0, 1, 2])).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ChurnError);
      expect((error as ChurnError).code).toBe("INVALID_MODEL");
      expect((error as Error).message).toMatch(/max abs diff \d/);
    });
  });

  it.skipIf(!hasTelco)("reaches ROC-AUC >= 0.83 on the IBM Telco holdout split", async () => {
    const result = await trainToDirectory({
      data: telcoCsv,
      split: telcoSplit,
      target: "Churn",
      positive: "Yes",
      out: path.join(dir, "telco"),
      model: "logistic_regression",
      timeBudget: 10,
    });
    expect(result.rows).toEqual({ train: 5634, holdout: 1409 });
    expect(result.metrics.roc_auc).toBeGreaterThanOrEqual(0.83);
    expect(result.parity.maxDiff).toBeLessThanOrEqual(1e-5);
    expect(result.manifest.features.find((f) => f.name === "TotalCharges")).toMatchObject({
      required: false,
    });
  });
});
