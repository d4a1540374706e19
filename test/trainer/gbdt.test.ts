import { describe, expect, it } from "vitest";
import { rocAuc } from "../../trainer/src/ml/metrics.ts";
import {
  applyBinMapper,
  binOf,
  fitBinMapper,
  quantileEdges,
  sortFloat32,
} from "../../trainer/src/ml/models/gbdt/binning.ts";
import {
  type BoosterParams,
  type BoostingData,
  trainBooster,
} from "../../trainer/src/ml/models/gbdt/booster.ts";
import { buildHistogram, createHistogram, SLOT } from "../../trainer/src/ml/models/gbdt/histogram.ts";
import { checkGbdtParams, GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import { emptyCandidate, findBestSplit } from "../../trainer/src/ml/models/gbdt/split.ts";
import { leafCount, predictMargins, type Tree, treeDepth } from "../../trainer/src/ml/models/gbdt/tree.ts";
import { createRandom, normal } from "../../trainer/src/ml/random.ts";

const PLAIN: BoosterParams = {
  ...GBDT_DEFAULTS,
  rounds: 30,
  learningRate: 0.3,
  maxDepth: 3,
  subsample: 1,
  colsampleByTree: 1,
  earlyStoppingRounds: 0,
};

/** Numeric features; the label follows x0 and x1 with noise; `missingRate` of x0 is NaN. */
function numericData(rows: number, seed: number, missingRate = 0): BoostingData {
  const random = createRandom(seed);
  const columns = Array.from({ length: 4 }, () => new Float32Array(rows));
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    for (const column of columns) column[r] = normal(random);
    const logit = 2 * columns[0]![r]! - 1.5 * columns[1]![r]! * columns[2]![r]!;
    y[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    if (random() < missingRate) columns[0]![r] = Number.NaN;
  }
  return { columns, y };
}

const sameTrees = (a: Tree[], b: Tree[]) =>
  a.length === b.length &&
  a.every((t, i) =>
    (["column", "threshold", "missingLeft", "left", "right", "value"] as const).every(
      (k) => t[k].length === b[i]![k].length && t[k].every((v, n) => Object.is(v, b[i]![k][n])),
    ),
  );

describe("binning", () => {
  it("gives each distinct value its own bin when there are few, and NaN the bin after them", () => {
    const values = Float32Array.of(3, 1, 2, Number.NaN, 2, 1);
    const mapper = fitBinMapper([values], { maxBins: 255 });
    expect(Array.from(mapper.edges[0]!)).toEqual([1, 2, 3]);
    const binned = applyBinMapper(mapper, [values]);
    expect(Array.from(binned.bins)).toEqual([2, 0, 1, 3, 1, 0]);
    expect(binned.valueBins[0]).toBe(3);
  });

  it("places at most maxBins edges, all of them actual float32 data values, the last at the maximum", () => {
    const random = createRandom(5);
    const values = Float32Array.from({ length: 20_000 }, () => (random() < 0.3 ? 7 : normal(random) * 100));
    const edges = quantileEdges(values, 64, 1);
    const present = new Set(values);
    expect(edges.length).toBeLessThanOrEqual(64);
    expect(edges.length).toBeGreaterThan(32);
    for (let b = 0; b < edges.length; b++) {
      expect(present.has(edges[b]!)).toBe(true);
      if (b > 0) expect(edges[b]!).toBeGreaterThan(edges[b - 1]!);
    }
    expect(edges[edges.length - 1]).toBe(Math.max(...values));
    expect(Array.from(edges)).toContain(7); // the heavy value closes a bin of its own
  });

  it("puts a value in a bin <= b exactly when x <= edges[b] (the split test the graph makes)", () => {
    const random = createRandom(9);
    const values = Float32Array.from({ length: 5000 }, () => normal(random));
    const edges = quantileEdges(values, 255, 3);
    for (let i = 0; i < values.length; i += 7) {
      const bin = binOf(edges, values[i]!);
      for (let b = 0; b < edges.length; b += 17) expect(bin <= b).toBe(values[i]! <= edges[b]!);
    }
  });

  it("radix-sorts float32 values like a numeric sort, negatives and zeros included", () => {
    const random = createRandom(2);
    const values = Float32Array.from({ length: 3000 }, (_, i) => (i % 50 === 0 ? 0 : normal(random) * 1e3));
    expect(Array.from(sortFloat32(values.slice()))).toEqual(Array.from(values.slice().sort()));
  });
});

describe("histograms and split finding", () => {
  // x = [1, 2, 3, 4, NaN, NaN], g = p − y at p = ½ for y = [0, 0, 1, 1, 1, 1], h = ¼.
  const x = Float32Array.of(1, 2, 3, 4, Number.NaN, Number.NaN);
  const gradHess = Float32Array.of(0.5, 0.25, 0.5, 0.25, -0.5, 0.25, -0.5, 0.25, -0.5, 0.25, -0.5, 0.25);
  const binned = applyBinMapper(fitBinMapper([x], { maxBins: 255 }), [x]);
  const rows = Uint32Array.of(0, 1, 2, 3, 4, 5);
  const columns = Int32Array.of(0);

  it("sums gradients and hessians per bin, missing values in their own bin", () => {
    const hist = createHistogram(binned);
    buildHistogram(hist, binned, columns, rows, 0, 6, gradHess);
    expect(SLOT).toBe(2);
    expect(Array.from(hist)).toEqual([0.5, 0.25, 0.5, 0.25, -0.5, 0.25, -0.5, 0.25, -1, 0.5]);
  });

  it("finds the split a hand calculation gives, trying missing values on both sides", () => {
    const hist = createHistogram(binned);
    buildHistogram(hist, binned, columns, rows, 0, 6, gradHess);
    const split = findBestSplit(
      hist,
      { grad: -1, hess: 1.5 },
      binned,
      columns,
      { lambda: 1, minChildWeight: 0, gamma: 0 },
      emptyCandidate(),
    );
    // x <= 2 | {3, 4, NaN}: ½ (1²/1.5 + 2²/2 − 1²/2.5) = 1.1333…, better than any missing-left split.
    expect(split.column).toBe(0);
    expect(split.bin).toBe(1);
    expect(split.missingLeft).toBe(false);
    expect(split.gain).toBeCloseTo(0.5 * (1 / 1.5 + 4 / 2 - 1 / 2.5), 12);
    expect(split.left).toEqual({ grad: 1, hess: 0.5 });
    expect(split.right).toEqual({ grad: -2, hess: 1 });

    // A child-weight floor of 0.6 rules out the 2-row left side; x <= 3 is the best left.
    const floored = findBestSplit(
      hist,
      { grad: -1, hess: 1.5 },
      binned,
      columns,
      { lambda: 1, minChildWeight: 0.6, gamma: 0 },
      emptyCandidate(),
    );
    expect(floored.left.hess).toBeGreaterThanOrEqual(0.6);
    expect(floored.right.hess).toBeGreaterThanOrEqual(0.6);
    expect(floored.bin).toBe(2);
  });

  it("grows the same split inside the booster, with leaf values −G/(H+λ) rounded to float32", () => {
    const fit = trainBooster(
      { columns: [x], y: Uint8Array.of(0, 0, 1, 1, 1, 1) },
      { ...PLAIN, rounds: 1, learningRate: 1, maxDepth: 1, minChildWeight: 0 },
    );
    const tree = fit.trees[0]!;
    expect(fit.baseScore).toBe(Math.fround(Math.log(2)));
    expect(tree.column[0]).toBe(0);
    expect(tree.threshold[0]).toBe(2);
    // At p = ⅔: g = [⅔, ⅔, −⅓, −⅓, −⅓, −⅓], h = 2/9 each; left = {1, 2}.
    expect(tree.value[tree.left[0]!]).toBeCloseTo(-(4 / 3) / (4 / 9 + 1), 6);
    expect(tree.value[tree.right[0]!]).toBeCloseTo(-(-4 / 3) / (8 / 9 + 1), 6);
    for (const n of [tree.left[0]!, tree.right[0]!]) expect(Math.fround(tree.value[n]!)).toBe(tree.value[n]);
    expect(tree.cover[0]).toBeCloseTo(6 * (2 / 9), 6);
  });
});

describe("boosting", () => {
  it("learns where missing values go from the rows that have them", () => {
    // y = 1 exactly when x > 0, and missing x behaves like a high value (or, mirrored, like a low one).
    const random = createRandom(4);
    const x = Float32Array.from({ length: 2000 }, (_, i) => (i % 5 === 0 ? Number.NaN : normal(random)));
    for (const missingLabel of [1, 0]) {
      const y = Uint8Array.from(x, (v) => (Number.isNaN(v) ? missingLabel : v > 0 ? 1 : 0));
      const fit = trainBooster({ columns: [x], y }, { ...PLAIN, rounds: 10, maxDepth: 1 });
      const root = fit.trees[0]!;
      expect(Math.abs(root.threshold[0]!)).toBeLessThan(0.1);
      expect(root.missingLeft[0]).toBe(missingLabel === 1 ? 0 : 1);
      const [nan, high, low] = predictMargins(
        fit.trees,
        fit.baseScore,
        [Float32Array.of(Number.NaN, 2, -2)],
        3,
      );
      expect(Math.sign(nan!)).toBe(missingLabel === 1 ? 1 : -1);
      expect(nan).toBe(missingLabel === 1 ? high : low);
    }
  });

  it("is deterministic for a seed, and subsampling makes seeds differ", () => {
    const data = numericData(3000, 1);
    const params = { ...PLAIN, subsample: 0.7, colsampleByTree: 0.5, seed: 11 };
    const a = trainBooster(data, params);
    const b = trainBooster(data, params);
    const c = trainBooster(data, { ...params, seed: 12 });
    expect(sameTrees(a.trees, b.trees)).toBe(true);
    expect(sameTrees(a.trees, c.trees)).toBe(false);
    // Without sampling the seed plays no part.
    expect(sameTrees(trainBooster(data, PLAIN).trees, trainBooster(data, { ...PLAIN, seed: 99 }).trees)).toBe(
      true,
    );
  });

  it("stops early on a validation fold and keeps the best round", () => {
    const train = numericData(1500, 2);
    const validation = numericData(1500, 3);
    const fit = trainBooster(
      train,
      { ...PLAIN, rounds: 400, learningRate: 0.5, maxDepth: 6, earlyStoppingRounds: 10 },
      { validation },
    );
    expect(fit.roundsRun).toBeLessThan(400);
    expect(fit.trees.length).toBe(fit.roundsRun - 10);
    const best = Math.min(...fit.validationLoss);
    expect(fit.validationLoss[fit.trees.length - 1]).toBe(best);
    expect(fit.validationLoss.slice(fit.trees.length).every((loss) => loss >= best)).toBe(true);
  });

  it("bounds trees by depth (depth-wise) or by leaves (loss-guided, best first)", () => {
    const data = numericData(3000, 5);
    const deep = trainBooster(data, { ...PLAIN, rounds: 5, maxDepth: 2 });
    for (const tree of deep.trees) expect(treeDepth(tree)).toBeLessThanOrEqual(2);
    expect(deep.trees.some((t) => leafCount(t) === 4)).toBe(true);

    const leafy = trainBooster(data, { ...PLAIN, rounds: 5, growth: "lossguide", maxDepth: 0, maxLeaves: 8 });
    for (const tree of leafy.trees) expect(leafCount(tree)).toBeLessThanOrEqual(8);
    expect(leafy.trees.some((t) => leafCount(t) === 8 && treeDepth(t) > 3)).toBe(true); // unbalanced
  });

  it("learns a held-out signal, with missing values in the strongest feature", () => {
    const fit = trainBooster(numericData(4000, 6, 0.15), { ...PLAIN, rounds: 60, learningRate: 0.2 });
    const test = numericData(2000, 7, 0.15);
    expect(rocAuc(test.y, predictMargins(fit.trees, fit.baseScore, test.columns, 2000))).toBeGreaterThan(0.8);
  });

  it("weights positives with scalePosWeight, starting from the weighted log-odds", () => {
    const data = numericData(2000, 8);
    let positives = 0;
    for (let r = 0; r < 2000; r++) positives += data.y[r]!;
    const fit = trainBooster(data, { ...PLAIN, rounds: 1, scalePosWeight: 3 });
    expect(fit.baseScore).toBe(Math.fround(Math.log((3 * positives) / (2000 - positives))));
    const weighted = trainBooster(
      { ...data, weights: Float64Array.from(data.y, (v) => (v ? 3 : 1)) },
      { ...PLAIN, rounds: 3 },
    );
    expect(
      sameTrees(weighted.trees, trainBooster(data, { ...PLAIN, rounds: 3, scalePosWeight: 3 }).trees),
    ).toBe(true);
  });

  it("rejects unusable parameters and single-class data", () => {
    expect(() => checkGbdtParams({ ...GBDT_DEFAULTS, maxBins: 256 })).toThrow(/maxBins/);
    expect(() => checkGbdtParams({ ...GBDT_DEFAULTS, growth: "lossguide", maxLeaves: 0 })).toThrow(
      /maxLeaves/,
    );
    expect(() => checkGbdtParams({ ...GBDT_DEFAULTS, subsample: 0 })).toThrow(/subsample/);
    expect(() => trainBooster({ columns: [Float32Array.of(1, 2)], y: Uint8Array.of(1, 1) }, PLAIN)).toThrow(
      /both target classes/,
    );
  });
});
