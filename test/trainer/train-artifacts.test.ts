import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExplainerPackage } from "#shared/explainer.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import { createExplainer } from "#shared/model-runtime/explainer.ts";
import { loadDataset } from "../../trainer/src/data/dataset.ts";
import { batchFromDataset } from "../../trainer/src/ml/features.ts";
import { runOnnx } from "../../trainer/src/ml/parity.ts";
import { writeArtefacts } from "../../trainer/src/pipeline/artefacts.ts";
import { type TrainResult, train, trainToDirectory } from "../../trainer/src/pipeline/train.ts";
import { writeTelcoCsv } from "./fixtures.ts";

let dir: string;
let csv: string;
let auto: TrainResult;
let gbdt: TrainResult;

const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8"));

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-artifacts-"));
  csv = path.join(dir, "customers.csv");
  await writeTelcoCsv(csv, 1500, 21);
  const common = { data: csv, target: "Churn", positive: "Yes", seed: 3, timeBudget: 10 };
  auto = await trainToDirectory({ ...common, out: path.join(dir, "auto") });
  gbdt = await trainToDirectory({
    ...common,
    out: path.join(dir, "gbdt"),
    model: "gbdt",
    decision: { valuePerCustomer: 800, offerCost: 40, offerAcceptance: 0.25 },
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("churn train artefacts", () => {
  it("trains in memory without touching the disk, and writes what it holds in a separate step", async () => {
    const out = path.join(dir, "in-memory");
    const trained = await train({
      data: csv,
      target: "Churn",
      positive: "Yes",
      seed: 3,
      timeBudget: 3,
      model: "gbdt",
    });
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    expect(trained.artefacts.manifest.onnx.sha256).toBe(await sha256Hex(trained.artefacts.onnx));
    expect(trained.artefacts.report).toContain("<html");
    const written = await writeArtefacts(trained, out);
    expect(new Uint8Array(await readFile(written.files.model))).toEqual(trained.artefacts.onnx);
    expect(await readFile(written.files.explainer!, "utf8")).toBe(trained.artefacts.explainer);
    expect(await readJson(written.files.manifest)).toEqual(trained.manifest);
  });

  it("writes every file and a manifest with the trainer's fields filled", async () => {
    for (const result of [auto, gbdt]) {
      const names = Object.values(result.files).map((f) => path.basename(f));
      expect(names).toEqual(
        expect.arrayContaining(["model.onnx", "manifest.json", "metrics.json", "runs.json", "report.html"]),
      );
      const manifest = manifestSchema.parse(await readJson(result.files.manifest));
      expect(manifest.calibration?.method).toMatch(/^(platt|isotonic)$/);
      expect(manifest.metrics.holdout["roc_auc"]).toBeGreaterThan(0.75);
      expect(manifest.metrics.cv?.["roc_auc"]).toBeGreaterThan(0.75);
      expect(manifest.metrics.cv?.["folds"]).toBe(3); // budgets under 20 s cross-validate on 3 folds
      expect(manifest.importance!.length).toBe(manifest.features.length);
      expect(manifest.importance!.reduce((s, i) => s + i.gain, 0)).toBeCloseTo(1, 6);
      expect(manifest.lineage.params["selection"]).toMatch(/log loss/);
    }
    expect(gbdt.manifest.family).toBe("gbdt");
    expect(gbdt.manifest.outputs.contributions).toBeUndefined();
    expect(gbdt.manifest.importance![0]!.splits).toBeGreaterThan(0);
  });

  it("stores the profit-optimal threshold and the curve it was chosen from", () => {
    const m = gbdt.manifest;
    expect(m.decision).toMatchObject({ valuePerCustomer: 800, offerCost: 40, offerAcceptance: 0.25 });
    const curve = m.decision!.curve;
    expect(curve).toHaveLength(101);
    const best = Math.max(...curve.map((p) => p.expectedProfit));
    expect(curve.find((p) => p.threshold === m.threshold)!.expectedProfit).toBe(best);
    expect(gbdt.decision.breakEven).toBeCloseTo(40 / (0.25 * 800), 12);
    expect(gbdt.metrics["expected_profit_per_customer"]).toBeDefined();
  });

  it("fills the drift reference: quantile histograms, category counts and the score distribution", () => {
    const ref = auto.manifest.reference!;
    expect(ref.rows).toBe(auto.rows.train);
    for (const f of auto.manifest.features) {
      const h = ref.features[f.name]!;
      expect(h.type).toBe(f.type);
      const counted =
        h.type === "numeric"
          ? h.counts.reduce((a, b) => a + b, 0)
          : Object.values(h.counts).reduce((a, b) => a + b, 0);
      expect(counted + h.missing).toBe(ref.rows);
      if (h.type === "numeric") {
        expect(h.edges.length).toBeLessThanOrEqual(20);
        expect(h.counts.length).toBe(h.edges.length + 1);
      }
    }
    expect(ref.features["MonthlyCharges"]).toBeDefined();
    expect(ref.score.counts).toHaveLength(20);
    expect(ref.score.counts.reduce((a, b) => a + b, 0)).toBe(ref.rows);
  });

  it("ships a TreeSHAP explainer the manifest pins, whose contributions add up to the graph's margin", async () => {
    const manifest: Manifest = gbdt.manifest;
    expect(manifest.explainer).toBeDefined();
    const bytes = await readFile(gbdt.files.explainer!);
    expect(manifest.explainer!.bytes).toBe(bytes.length);
    expect(manifest.explainer!.sha256).toBe(await sha256Hex(new Uint8Array(bytes)));
    const pkg = parseExplainerPackage(JSON.parse(bytes.toString("utf8")));
    expect(pkg.baseMargin).toBe(manifest.explainer!.baseMargin);

    const dataset = await loadDataset(csv, { target: "Churn", positive: "Yes" });
    const rows = Array.from({ length: 200 }, (_, i) => (i * 104729) % dataset.rowCount);
    const batch = batchFromDataset(dataset, rows);
    const explained = createExplainer(pkg).explain(
      pkg.features.map((f) => batch.values[f.name]!),
      batch.rows,
    );
    const onnx = await runOnnx(new Uint8Array(await readFile(gbdt.files.model)), batch);
    const width = pkg.features.length;
    for (let r = 0; r < batch.rows; r++) {
      let sum = pkg.baseMargin;
      for (let j = 0; j < width; j++) sum += explained.contributions[r * width + j]!;
      expect(Math.abs(sum - explained.margins[r]!)).toBeLessThan(1e-6);
      expect(Math.abs(sum - onnx.margin![r]!)).toBeLessThan(1e-5);
    }
    expect(gbdt.parity.maxAdditivityDiff).toBeLessThanOrEqual(1e-5);
  });

  it("logs every AutoML candidate to runs.json", async () => {
    const runs = await readJson(auto.files.runs);
    expect(runs.length).toBeGreaterThan(5);
    for (const run of runs) {
      expect(Object.keys(run)).toEqual(expect.arrayContaining(["family", "params", "cvMetrics", "seconds"]));
      expect(run.cvMetrics.log_loss_platt).toBeGreaterThan(0);
      expect(run.cvMetrics.folds).toBeGreaterThanOrEqual(1);
    }
    expect(runs.filter((r: { selected: boolean }) => r.selected)).toHaveLength(1);
    expect(runs.some((r: { status: string }) => r.status === "pruned")).toBe(true);
    const families = new Set(runs.map((r: { family: string }) => r.family));
    expect(families.has("logistic_regression") && families.has("gbdt")).toBe(true);
  });

  it("reports holdout and CV metrics and the data-quality report in metrics.json", async () => {
    const metrics = await readJson(auto.files.metrics);
    for (const key of [
      "roc_auc",
      "pr_auc",
      "log_loss",
      "brier",
      "ece",
      "accuracy",
      "precision",
      "recall",
      "f1",
      "lift_top_decile",
    ]) {
      expect(typeof metrics.holdout[key]).toBe("number");
      expect(typeof metrics.cv[key]).toBe("number");
    }
    expect(metrics.deciles.holdout).toHaveLength(10);
    expect(metrics.deciles.holdout.at(-1).cumulativeGain).toBeCloseTo(1, 10);
    expect(metrics.dataQuality.dropped).toEqual([
      { column: "customerID", reason: "its value is unique on every row" },
    ]);
    expect(metrics.dataQuality.features).toHaveLength(19);
    // What the trainer did with the file: how it read it and how it typed each column.
    expect(metrics.dataQuality.reading).toMatchObject({
      separator: ",",
      separatorDetected: true,
      encoding: "utf-8",
      decimal: ".",
      rowsRead: 1500,
      rowsKept: 1500,
    });
    expect(metrics.dataQuality.reading.columns).toHaveLength(21);
    expect(metrics.dataQuality.reading.columns.find((c: { name: string }) => c.name === "Churn").role).toBe(
      "target",
    );
    expect(metrics.parity.maxDiff).toBeLessThanOrEqual(1e-5);
  });

  it("writes a self-contained HTML report with the SVG plots", async () => {
    const html = await readFile(auto.files.report, "utf8");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    // Nothing is fetched: no external URLs in src/href, no scripts, no stylesheet links or imports.
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html).toMatch(/<meta name="viewport"/);
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(9);
    for (const title of [
      "ROC curve",
      "Precision-recall curve",
      "Reliability diagram",
      "Lift by decile",
      "Cumulative gain",
      "Expected profit per customer vs threshold",
      "Global importance",
      "SHAP summary",
    ]) {
      expect(html).toContain(`<figcaption>${title}`);
    }
    for (const id of [
      "summary",
      "performance",
      "threshold",
      "explanations",
      "data-quality",
      "automl",
      "model",
    ]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    expect(html).toContain(`chosen ${auto.manifest.threshold.toFixed(2)}`);
    expect(html).toContain("customerID (its value is unique on every row)");
    expect(html).toContain("What the trainer did with your file");
  });
});
