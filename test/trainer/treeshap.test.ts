import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { type ExplainerPackage, parseExplainerPackage } from "#shared/explainer.ts";
import { createExplainer, type RawColumns } from "#shared/model-runtime/explainer.ts";
import { expectedValue, type ShapTree, ShapWorkspace, treeShap } from "#shared/model-runtime/treeshap.ts";
import { buildDataset, type Dataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { batchFromDataset, type FeatureBatch } from "../../trainer/src/ml/features.ts";
import { fitGbdt } from "../../trainer/src/ml/models/gbdt/model.ts";
import { GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import { createRandom, normal, type Random } from "../../trainer/src/ml/random.ts";

/** A random tree over `features` columns; covers add up from random leaf covers, so they are consistent. */
function randomTree(random: Random, features: number, maxDepth: number): ShapTree {
  const tree = {
    feature: [] as number[],
    threshold: [] as number[],
    missingLeft: [] as number[],
    left: [] as number[],
    right: [] as number[],
    value: [] as number[],
    cover: [] as number[],
  };
  const grow = (depth: number): number => {
    const n = tree.feature.length;
    for (const key of Object.keys(tree) as (keyof typeof tree)[]) tree[key].push(0);
    if (depth === maxDepth || (depth > 0 && random() < 0.25)) {
      tree.feature[n] = -1;
      tree.value[n] = normal(random);
      tree.cover[n] = 0.5 + random() * 10;
      return n;
    }
    tree.feature[n] = Math.floor(random() * features); // repeats along a path are likely, on purpose
    tree.threshold[n] = Math.round(normal(random) * 4) / 4;
    tree.missingLeft[n] = random() < 0.5 ? 1 : 0;
    tree.left[n] = grow(depth + 1);
    tree.right[n] = grow(depth + 1);
    tree.cover[n] = tree.cover[tree.left[n]!]! + tree.cover[tree.right[n]!]!;
    return n;
  };
  grow(0);
  return tree;
}

/** f_S(x): follow x on splits over known features (in S), average children by cover on the others. */
function conditionalValue(tree: ShapTree, x: ArrayLike<number>, known: number, node = 0): number {
  const f = tree.feature[node]!;
  if (f < 0) return tree.value[node]!;
  const l = tree.left[node]!;
  const r = tree.right[node]!;
  if (known & (1 << f)) {
    const goLeft = x[f]! <= tree.threshold[node]! || (Number.isNaN(x[f]!) && tree.missingLeft[node] === 1);
    return conditionalValue(tree, x, known, goLeft ? l : r);
  }
  return (
    (tree.cover[l]! * conditionalValue(tree, x, known, l) +
      tree.cover[r]! * conditionalValue(tree, x, known, r)) /
    tree.cover[node]!
  );
}

/** Shapley values by enumerating every coalition: Σ_S |S|!(M−|S|−1)!/M! · (f_{S∪i} − f_S). */
function bruteForceShapley(tree: ShapTree, x: ArrayLike<number>, features: number): number[] {
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const bits = (s: number) => s.toString(2).replace(/0/g, "").length;
  const phi = new Array<number>(features).fill(0);
  for (let i = 0; i < features; i++) {
    for (let s = 0; s < 1 << features; s++) {
      if (s & (1 << i)) continue;
      const weight = (factorial(bits(s)) * factorial(features - bits(s) - 1)) / factorial(features);
      phi[i]! += weight * (conditionalValue(tree, x, s | (1 << i)) - conditionalValue(tree, x, s));
    }
  }
  return phi;
}

describe("TreeSHAP", () => {
  it("equals brute-force Shapley values with path-dependent expectations on random trees", () => {
    const random = createRandom(17);
    let checked = 0;
    for (let t = 0; t < 60; t++) {
      const features = 1 + (t % 5);
      const tree = randomTree(random, features, 2 + (t % 5));
      const ws = new ShapWorkspace(8);
      for (let row = 0; row < 5; row++) {
        const x = Array.from({ length: features }, () => (random() < 0.2 ? Number.NaN : normal(random) * 2));
        const phi = new Float64Array(features);
        treeShap(tree, x, phi, ws);
        const oracle = bruteForceShapley(tree, x, features);
        for (let i = 0; i < features; i++) expect(Math.abs(phi[i]! - oracle[i]!)).toBeLessThan(1e-9);
        // Local accuracy: the values explain f(x) − E[f] exactly.
        const total = phi.reduce((a, b) => a + b, 0);
        expect(
          Math.abs(total - (conditionalValue(tree, x, (1 << features) - 1) - expectedValue(tree))),
        ).toBeLessThan(1e-9);
        checked++;
      }
    }
    expect(checked).toBe(300);
  });

  it("gives a feature the tree never splits on exactly zero", () => {
    const tree = randomTree(createRandom(3), 2, 4); // splits only on columns 0 and 1
    const phi = new Float64Array(3);
    treeShap(tree, [0.3, -1, 5], phi, new ShapWorkspace(4));
    expect(phi[2]).toBe(0);
  });
});

function telcoDataset(rows: number, seed: number): Dataset {
  const records = generateTelco(rows, seed);
  const columns = TELCO_COLUMNS.map((c) =>
    records.map((r, i) => (c === "MonthlyCharges" && i % 11 === 0 ? "" : r[c])),
  );
  return buildDataset(
    [...TELCO_COLUMNS],
    columns,
    records.map((_, i) => i + 2),
    { target: "Churn", positive: "Yes", drop: ["customerID"] },
  );
}

function rawColumns(pkg: ExplainerPackage, batch: FeatureBatch): RawColumns {
  return pkg.features.map((f) => batch.values[f.name]!);
}

describe("GBDT explanations", () => {
  const dataset = telcoDataset(2500, 21);
  const rows = Array.from({ length: 2000 }, (_, i) => i);
  const model = fitGbdt(
    { dataset, rows },
    { ...GBDT_DEFAULTS, rounds: 60, maxDepth: 4, earlyStoppingRounds: 0 },
  );
  const batch = batchFromDataset(
    dataset,
    Array.from({ length: 500 }, (_, i) => 2000 + i),
  );

  it("adds up: baseMargin + Σ contributions = margin on every row", () => {
    const { margins, contributions } = createExplainer(model.explainer).explain(
      rawColumns(model.explainer, batch),
      batch.rows,
    );
    const f = model.features.length;
    const predicted = model.predictMargin(batch);
    for (let r = 0; r < batch.rows; r++) {
      let sum = model.baseMargin;
      for (let j = 0; j < f; j++) sum += contributions[r * f + j]!;
      expect(Math.abs(sum - margins[r]!)).toBeLessThan(1e-6);
      // The float32 predictor (what ONNX computes) agrees to float32 rounding.
      expect(Math.abs(margins[r]! - predicted[r]!)).toBeLessThan(1e-5);
    }
  });

  it("reaches the same contributions from the package's JSON, as the edge will", () => {
    const json = JSON.stringify(model.explainer);
    const edge = createExplainer(parseExplainerPackage(JSON.parse(json)));
    const fromEdge = edge.explain(rawColumns(edge.pkg, batch), batch.rows).contributions;
    expect(Float32Array.from(fromEdge)).toEqual(model.contributions(batch));
    // Compact: float32 values as shortest decimals, about 10 bytes per node field.
    const nodes = model.explainer.trees.reduce((n, t) => n + t.feature.length, 0);
    expect(json.length / nodes).toBeLessThan(70);
  });

  it("credits one-hot columns to their categorical feature and ignores unseen categories", () => {
    const one = batchFromDataset(dataset, [0, 0]);
    (one.values["Contract"] as string[])[1] = "Lifetime"; // unseen: all its one-hot columns are 0
    const phi = model.contributions(one);
    const f = model.features.length;
    const contract = model.features.findIndex((s) => s.name === "Contract");
    expect(phi[contract]).not.toBe(0);
    expect(phi.length).toBe(2 * f);
    let sum = model.baseMargin;
    for (let j = 0; j < f; j++) sum += phi[f + j]!;
    expect(sum).toBeCloseTo(model.predictMargin(one)[1]!, 4);
  });

  it("rejects malformed packages with INVALID_MODEL", () => {
    const broken = JSON.parse(JSON.stringify(model.explainer)) as ExplainerPackage;
    broken.trees[0]!.left[0] = 0; // a cycle
    expect(() => parseExplainerPackage(broken)).toThrow(ChurnError);
    expect(() => parseExplainerPackage({ ...model.explainer, format: "other" })).toThrow(/format/);
    expect(() => parseExplainerPackage({ ...model.explainer, columns: [{ feature: 99 }] })).toThrow(
      /column 0/,
    );
  });

  it("keeps the explainer free of Node-only APIs, so a Worker can import it", async () => {
    for (const file of ["explainer.ts", "treeshap.ts", "deeplift.ts"]) {
      const source = await readFile(
        new URL(`../../shared/src/model-runtime/${file}`, import.meta.url),
        "utf8",
      );
      expect(source).not.toMatch(/from "node:|\bBuffer\b|\bprocess\./);
    }
  });
});
