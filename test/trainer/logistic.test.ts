import { describe, expect, it } from "vitest";
import { buildDataset, type Dataset } from "../../trainer/src/data/dataset.ts";
import type { FeatureBatch } from "../../trainer/src/ml/features.ts";
import { fitLogistic, LOGISTIC_DEFAULTS, logisticTrainer } from "../../trainer/src/ml/models/logistic.ts";
import { predictProbability } from "../../trainer/src/ml/models/model.ts";
import { encode, fitPreprocessor } from "../../trainer/src/ml/preprocess.ts";
import { createRandom, normal } from "../../trainer/src/ml/random.ts";

const PLANS = ["basic", "plus", "pro"];

/** Two numeric drivers, one categorical with a strong effect, little label noise. */
function syntheticDataset(n: number, seed: number): Dataset {
  const random = createRandom(seed);
  const x1: string[] = [];
  const x2: string[] = [];
  const plan: string[] = [];
  const y: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = normal(random);
    const b = normal(random) * 10 + 50;
    const p = PLANS[Math.floor(random() * 3)]!;
    const logit = 3 * a - 0.2 * (b - 50) + (p === "pro" ? 2 : p === "basic" ? -2 : 0) + 0.3 * normal(random);
    x1.push(i % 17 === 0 ? "" : a.toFixed(4)); // some missing values
    x2.push(b.toFixed(2));
    plan.push(p);
    y.push(logit > 0 ? "churned" : "stayed");
  }
  const lines = Array.from({ length: n }, (_, i) => i + 2);
  return buildDataset(["x1", "x2", "plan", "status"], [x1, x2, plan, y], lines, {
    target: "status",
    positive: "churned",
  });
}

function randomBatch(rows: number, seed: number): FeatureBatch {
  const random = createRandom(seed);
  return {
    rows,
    values: {
      x1: Float32Array.from({ length: rows }, () => (random() < 0.1 ? Number.NaN : normal(random) * 2)),
      x2: Float32Array.from({ length: rows }, () => 30 + 40 * random()),
      plan: Array.from({ length: rows }, () => [...PLANS, "unseen", ""][Math.floor(random() * 5)]!),
    },
  };
}

const allRows = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("logistic regression", () => {
  it("converges on nearly separable data and learns the right signs", () => {
    const ds = syntheticDataset(1500, 3);
    const model = logisticTrainer.fit({ dataset: ds, rows: allRows(ds.rowCount) }, LOGISTIC_DEFAULTS);
    expect(model.params["converged"]).toBe(true);
    expect(model.params["iterations"] as number).toBeLessThan(30);

    const batch = {
      rows: 3,
      values: {
        x1: Float32Array.of(0, 0, 1),
        x2: Float32Array.of(50, 50, 50),
        plan: ["basic", "pro", "plus"],
      },
    };
    const margin = model.predictMargin(batch);
    expect(margin[1]!).toBeGreaterThan(margin[0]!); // pro churns more than basic
    expect(margin[2]!).toBeGreaterThan(0); // x1 pushes towards churn

    const p = predictProbability(model, {
      rows: ds.rowCount,
      values: Object.fromEntries(
        ds.features.map((f) => [f.name, f.kind === "numeric" ? Float32Array.from(f.values) : f.values]),
      ),
    });
    let correct = 0;
    for (let i = 0; i < ds.rowCount; i++) correct += (p[i]! >= 0.5 ? 1 : 0) === ds.target.y[i] ? 1 : 0;
    expect(correct / ds.rowCount).toBeGreaterThan(0.93);
  });

  it("reaches a stationary point of the penalised log-likelihood", () => {
    const ds = syntheticDataset(800, 11);
    const rows = allRows(ds.rowCount);
    const pre = fitPreprocessor(ds, rows);
    const values = Object.fromEntries(
      ds.features.map((f) => [f.name, f.kind === "numeric" ? Float32Array.from(f.values) : f.values]),
    );
    const x = encode(pre, { rows: ds.rowCount, values });
    const fit = fitLogistic(x, ds.rowCount, pre.width, ds.target.y, { ...LOGISTIC_DEFAULTS, l2: 1 });
    expect(fit.converged).toBe(true);
    const grad = new Float64Array(pre.width + 1);
    for (let i = 0; i < ds.rowCount; i++) {
      let m = fit.intercept;
      for (let k = 0; k < pre.width; k++) m += fit.weights[k]! * x[i * pre.width + k]!;
      const r = 1 / (1 + Math.exp(-m)) - ds.target.y[i]!;
      grad[0]! += r;
      for (let k = 0; k < pre.width; k++) grad[k + 1]! += r * x[i * pre.width + k]!;
    }
    for (let k = 0; k < pre.width; k++) grad[k + 1]! += fit.weights[k]!;
    // Only float32 rounding of the weights separates us from the exact optimum.
    for (const g of grad) expect(Math.abs(g)).toBeLessThan(1e-3);
  });

  it("explains every margin exactly: baseMargin + Σ contributions = margin", () => {
    const ds = syntheticDataset(1000, 5);
    const model = logisticTrainer.fit({ dataset: ds, rows: allRows(ds.rowCount) }, LOGISTIC_DEFAULTS);
    const batch = randomBatch(500, 99);
    const margins = model.predictMargin(batch);
    const phi = model.contributions(batch);
    const f = model.features.length;
    expect(phi.length).toBe(500 * f);
    for (let i = 0; i < batch.rows; i++) {
      let sum = model.baseMargin;
      for (let j = 0; j < f; j++) sum += phi[i * f + j]!;
      expect(Math.abs(sum - margins[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(margins[i]!)));
    }
  });

  it("centres contributions on the training rows (they average to ~0 there)", () => {
    const ds = syntheticDataset(600, 8);
    const rows = allRows(ds.rowCount);
    const model = logisticTrainer.fit({ dataset: ds, rows }, LOGISTIC_DEFAULTS);
    const values = Object.fromEntries(
      ds.features.map((f) => [f.name, f.kind === "numeric" ? Float32Array.from(f.values) : f.values]),
    );
    const phi = model.contributions({ rows: ds.rowCount, values });
    const f = model.features.length;
    for (let j = 0; j < f; j++) {
      let mean = 0;
      for (let i = 0; i < ds.rowCount; i++) mean += phi[i * f + j]!;
      expect(Math.abs(mean / ds.rowCount)).toBeLessThan(1e-5);
    }
  });
});
