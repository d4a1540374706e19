import { ChurnError } from "../errors.ts";
import { type ExplainerLinear, type ExplainerMlp, type ExplainerPackage, mlpWidth } from "../explainer.ts";
import { type CompiledReluNet, compileReluNet, explainReluRow } from "./deeplift.ts";
import { depthOf, expectedValue, leafIndex, type ShapTree, ShapWorkspace, treeShap } from "./treeshap.ts";

/**
 * Evaluates an explainer package (see ../explainer.ts): margins and additive contributions per raw
 * feature, with the graph's float32 arithmetic. TreeSHAP for trees, exact terms for linear parts, DeepLIFT
 * for networks. Pure code: the edge, the control plane and the trainer run the very same functions.
 */

/** Raw input columns in `features` order, as the edge encodes a request: float32 numbers or strings. */
export type RawColumns = readonly (Float32Array | readonly string[])[];

export interface Explanation {
  /** Per row, float64 sum of the float32 leaf values plus the base score. */
  margins: Float64Array;
  /** rows x features, row-major, in `features` order. */
  contributions: Float64Array;
}

export interface Explainer {
  readonly pkg: ExplainerPackage;
  explain(columns: RawColumns, rows: number): Explanation;
}

/**
 * The expected margin of a package: base score, each tree's cover-weighted mean leaf, each linear part's
 * margin at the training means and each network's margin at its reference row.
 */
export function expectedMargin(pkg: ExplainerPackage): number {
  let margin = Math.fround(pkg.baseScore);
  for (const tree of compileTrees(pkg)) margin += expectedValue(tree);
  for (const part of pkg.linear ?? []) margin += linearBase(part);
  for (const part of pkg.mlp ?? []) margin += compileReluNet(mlpNet(part)).baseMargin;
  return margin;
}

/** The linear part's margin at the training means: intercept + Σ offsets. */
function linearBase(part: ExplainerLinear): number {
  let base = Math.fround(part.intercept);
  for (const o of part.offsets) base += Math.fround(o);
  return base;
}

function mlpNet(part: ExplainerMlp) {
  const f = (values: readonly number[]) => Float32Array.from(values);
  return {
    hidden: part.hidden,
    width: mlpWidth(part),
    w1: f(part.w1),
    b1: f(part.b1),
    w2: f(part.w2),
    b2: Math.fround(part.b2),
    reference: f(part.reference),
  };
}

interface CompiledTree extends ShapTree {
  feature: Int32Array;
  threshold: Float32Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
  cover: Float32Array;
}

function compileTrees(pkg: ExplainerPackage): CompiledTree[] {
  return pkg.trees.map((t) => ({
    feature: Int32Array.from(t.feature),
    threshold: Float32Array.from(t.threshold),
    missingLeft: Uint8Array.from(t.missingLeft),
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    value: Float32Array.from(t.value),
    cover: Float32Array.from(t.cover),
  }));
}

/** Compiles a (validated) package once; `explain` then allocates only its outputs and one row buffer. */
export function createExplainer(pkg: ExplainerPackage): Explainer {
  const trees = compileTrees(pkg);
  const ws = new ShapWorkspace(trees.reduce((d, t) => Math.max(d, depthOf(t)), 0));
  const nColumns = pkg.columns.length;
  const nFeatures = pkg.features.length;
  const columnFeature = Int32Array.from(pkg.columns, (c) => c.feature);
  // Per feature: its numeric column, or its one-hot columns by category.
  const numericColumn = new Int32Array(nFeatures).fill(-1);
  const oneHot: (Map<string, number> | undefined)[] = pkg.features.map(() => undefined);
  pkg.columns.forEach((c, k) => {
    if (c.category === undefined) {
      numericColumn[c.feature] = k;
      return;
    }
    const byCategory = oneHot[c.feature] ?? new Map<string, number>();
    byCategory.set(c.category, k);
    oneHot[c.feature] = byCategory;
  });
  const baseScore = Math.fround(pkg.baseScore);
  const linear = (pkg.linear ?? []).map(compileLinear);
  const networks = (pkg.mlp ?? []).map(compileMlp);

  return {
    pkg,
    explain(columns, rows) {
      if (columns.length !== nFeatures) {
        throw new ChurnError(
          "INVALID_REQUEST",
          `Expected ${nFeatures} feature columns, got ${columns.length}`,
        );
      }
      columns.forEach((column, j) => {
        const feature = pkg.features[j]!;
        if ((feature.type === "numeric") !== column instanceof Float32Array || column.length < rows) {
          throw new ChurnError(
            "INVALID_REQUEST",
            `Feature "${feature.name}" needs ${rows} ${feature.type === "numeric" ? "float32 numbers" : "strings"}`,
          );
        }
      });
      const margins = new Float64Array(rows);
      const contributions = new Float64Array(rows * nFeatures);
      const x = new Float64Array(nColumns);
      const phi = new Float64Array(nColumns);
      for (let r = 0; r < rows; r++) {
        x.fill(0);
        for (let j = 0; j < nFeatures; j++) {
          const column = columns[j]!;
          if (column instanceof Float32Array) {
            if (numericColumn[j]! >= 0) x[numericColumn[j]!] = column[r]!;
          } else {
            const k = oneHot[j]?.get(column[r]!);
            if (k !== undefined) x[k] = 1;
          }
        }
        phi.fill(0);
        let margin = baseScore;
        for (const tree of trees) {
          margin += tree.value[leafIndex(tree, x)]!;
          treeShap(tree, x, phi, ws);
        }
        for (let k = 0; k < nColumns; k++) contributions[r * nFeatures + columnFeature[k]!]! += phi[k]!;
        for (const part of linear) margin += part.explainRow(columns, r, contributions, r * nFeatures);
        for (const part of networks) margin += part.explainRow(columns, r, contributions, r * nFeatures);
        margins[r] = margin;
      }
      return { margins, contributions };
    },
  };
}

interface CompiledLinear {
  /** Adds the part's contributions for row r at `out[at + j]` and returns its margin. */
  explainRow(columns: RawColumns, r: number, out: Float64Array, at: number): number;
}

/** Mirrors the graph's float32 arithmetic for a linear part (see ExplainerLinear). */
function compileLinear(part: ExplainerLinear): CompiledLinear {
  const f32 = Math.fround;
  const base = linearBase(part);
  const offsets = part.offsets.map(f32);
  const numeric = part.numeric.map((n) => ({
    feature: n.feature,
    mean: f32(n.mean),
    std: f32(n.std),
    weight: f32(n.weight),
    steps: Float32Array.from(n.steps),
    stepWeights: Float32Array.from(n.stepWeights),
  }));
  const categorical = part.categorical.map((c) => ({
    feature: c.feature,
    weights: new Map(c.categories.map((category, k) => [category, f32(c.weights[k]!)])),
  }));
  return {
    explainRow(columns, r, out, at) {
      let margin = base;
      for (const n of numeric) {
        const x = (columns[n.feature] as Float32Array)[r]!;
        const value = Number.isNaN(x) ? n.mean : x;
        let term = f32(f32(f32(value - n.mean) / n.std) * n.weight);
        for (let k = 0; k < n.steps.length; k++) {
          if (value > n.steps[k]!) term = f32(term + n.stepWeights[k]!);
        }
        const phi = f32(term - offsets[n.feature]!);
        out[at + n.feature]! += phi;
        margin += phi;
      }
      for (const c of categorical) {
        const weight = c.weights.get((columns[c.feature] as readonly string[])[r]!) ?? 0;
        const phi = f32(weight - offsets[c.feature]!);
        out[at + c.feature]! += phi;
        margin += phi;
      }
      return margin;
    },
  };
}

/** Encodes the row as the graph does (float32), then explains the network part with DeepLIFT. */
function compileMlp(part: ExplainerMlp): CompiledLinear {
  const f32 = Math.fround;
  const net: CompiledReluNet = compileReluNet(mlpNet(part));
  const x = new Float32Array(net.net.width);
  const columnFeature = new Int32Array(net.net.width);
  const numeric = part.numeric.map((n) => ({
    ...n,
    mean: f32(n.mean),
    std: f32(n.std),
    steps: Float32Array.from(n.steps),
  }));
  const categorical = part.categorical.map((c) => ({
    feature: c.feature,
    index: new Map(c.categories.map((category, k) => [category, k])),
    size: c.categories.length,
  }));
  // Column layout: numeric values, one-hot blocks, step columns (as the trainer's preprocessing encodes).
  let at = 0;
  const valueAt = numeric.map((n) => {
    columnFeature[at] = n.feature;
    return at++;
  });
  const blockAt = categorical.map((c) => {
    columnFeature.fill(c.feature, at, at + c.size);
    at += c.size;
    return at - c.size;
  });
  const stepsAt = numeric.map((n) => {
    columnFeature.fill(n.feature, at, at + n.steps.length);
    at += n.steps.length;
    return at - n.steps.length;
  });
  return {
    explainRow(columns, r, out, offset) {
      x.fill(0);
      numeric.forEach((n, i) => {
        const raw = (columns[n.feature] as Float32Array)[r]!;
        const value = Number.isNaN(raw) ? n.mean : raw;
        x[valueAt[i]!] = f32(f32(value - n.mean) / n.std);
        for (let k = 0; k < n.steps.length; k++) if (value > n.steps[k]!) x[stepsAt[i]! + k] = 1;
      });
      categorical.forEach((c, i) => {
        const k = c.index.get((columns[c.feature] as readonly string[])[r]!);
        if (k !== undefined) x[blockAt[i]! + k] = 1;
      });
      return explainReluRow(net, x, 0, columnFeature, out, offset);
    },
  };
}
