import { ChurnError } from "../../../shared/src/errors.ts";
import { type CompiledReluNet, compileReluNet, explainReluRow } from "./deeplift.ts";
import { depthOf, expectedValue, leafIndex, type ShapTree, ShapWorkspace, treeShap } from "./treeshap.ts";

/**
 * The explainer package: a GBDT's trees (and any linear or network parts of an ensemble) as compact JSON,
 * enough to compute its margins and additive contributions per raw feature anywhere JavaScript runs (the
 * edge loads it next to the ONNX graph, whose parts it mirrors: TreeSHAP for trees, exact terms for linear
 * parts, DeepLIFT for networks). Floats are float32 values written as their
 * shortest decimal; readers round them back with Math.fround.
 */
export const EXPLAINER_FORMAT = "churn-gbdt-treeshap";
export const EXPLAINER_VERSION = 1;

export type ExplainerFeature =
  | { name: string; type: "numeric" }
  | { name: string; type: "categorical"; categories: string[] };

/** One encoded column: the raw feature (index into `features`) and, for one-hot columns, its category. */
export interface ExplainerColumn {
  feature: number;
  category?: string;
}

/** Parallel per-node arrays; a leaf has feature -1 (and 0 in the split fields). */
export interface ExplainerTree {
  feature: number[];
  threshold: number[];
  missingLeft: number[];
  left: number[];
  right: number[];
  value: number[];
  cover: number[];
}

/**
 * A logistic-regression part of the margin, for ensembles that average trees with a linear model. Its
 * contribution to feature j is fround(Σ fround(term · weight)) − offsets[j], its terms being the
 * standardised value, the steps `x > cut` (both on the value with NaN imputed by the mean) and one-hot
 * categories; Σ offsets + intercept is its share of baseMargin.
 */
export interface ExplainerLinear {
  intercept: number;
  /** Per feature, in `features` order. */
  offsets: number[];
  numeric: {
    feature: number;
    mean: number;
    std: number;
    weight: number;
    steps: number[];
    stepWeights: number[];
  }[];
  categorical: { feature: number; categories: string[]; weights: number[] }[];
}

/**
 * A one-hidden-layer ReLU network part of the margin (an MLP, alone or in an ensemble), explained by
 * DeepLIFT's rescale rule against the mean encoded training row (see deeplift.ts). Its input is the
 * logistic regression's encoding: each numeric feature standardised (NaN imputed by the mean), then each
 * categorical feature's one-hot block, then each numeric feature's step columns `x > cut`, in that order.
 */
export interface ExplainerMlp {
  numeric: { feature: number; mean: number; std: number; steps: number[] }[];
  categorical: { feature: number; categories: string[] }[];
  hidden: number;
  /** hidden x width, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
  /** Mean encoded training row (width values). */
  reference: number[];
}

export interface ExplainerPackage {
  format: typeof EXPLAINER_FORMAT;
  version: typeof EXPLAINER_VERSION;
  /** Raw features in manifest order: the contribution columns. */
  features: ExplainerFeature[];
  /** Encoded columns the trees split on; numeric ones take the raw value (NaN = missing), one-hot 0/1. */
  columns: ExplainerColumn[];
  /** Margin before any tree. */
  baseScore: number;
  /**
   * Expected margin (base score + each tree's cover-weighted mean leaf + each linear part's margin at the
   * training means): margin = baseMargin + Σ contributions.
   */
  baseMargin: number;
  trees: ExplainerTree[];
  /** Linear parts added to the trees' margin (weighted ensembles); absent for pure tree models. */
  linear?: ExplainerLinear[];
  /** Network parts added to the margin (an MLP or an ensemble holding one). */
  mlp?: ExplainerMlp[];
}

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

export function createExplainerPackage(input: {
  features: ExplainerFeature[];
  columns: ExplainerColumn[];
  baseScore: number;
  trees: readonly ShapTree[];
  linear?: ExplainerLinear[];
  mlp?: ExplainerMlp[];
}): ExplainerPackage {
  const trees = input.trees.map((tree): ExplainerTree => {
    const nodes = Array.from({ length: tree.feature.length }, (_, n) => n);
    const isLeaf = (n: number) => tree.feature[n]! < 0;
    const splitField = (values: ArrayLike<number>) => nodes.map((n) => (isLeaf(n) ? 0 : values[n]!));
    return {
      feature: nodes.map((n) => tree.feature[n]!),
      threshold: nodes.map((n) => (isLeaf(n) ? 0 : shortestFloat32(tree.threshold[n]!))),
      missingLeft: splitField(tree.missingLeft),
      left: splitField(tree.left),
      right: splitField(tree.right),
      value: nodes.map((n) => (isLeaf(n) ? shortestFloat32(tree.value[n]!) : 0)),
      cover: nodes.map((n) => shortestFloat32(tree.cover[n]!)),
    };
  });
  const draft: ExplainerPackage = {
    format: EXPLAINER_FORMAT,
    version: EXPLAINER_VERSION,
    features: input.features,
    columns: input.columns,
    baseScore: shortestFloat32(input.baseScore),
    baseMargin: 0,
    trees,
    ...(input.linear && input.linear.length > 0 ? { linear: input.linear.map(roundLinear) } : {}),
    ...(input.mlp && input.mlp.length > 0 ? { mlp: input.mlp.map(roundMlp) } : {}),
  };
  // The expected value is taken over the rounded covers the explainer will actually use.
  const compiled = compileTrees(draft);
  let baseMargin = Math.fround(draft.baseScore);
  for (const tree of compiled) baseMargin += expectedValue(tree);
  for (const part of draft.linear ?? []) baseMargin += linearBase(part);
  for (const part of draft.mlp ?? []) baseMargin += compileReluNet(mlpNet(part)).baseMargin;
  return { ...draft, baseMargin };
}

function roundMlp(part: ExplainerMlp): ExplainerMlp {
  const r = (values: readonly number[]) => values.map(shortestFloat32);
  return {
    numeric: part.numeric.map((n) => ({
      feature: n.feature,
      mean: shortestFloat32(n.mean),
      std: shortestFloat32(n.std),
      steps: r(n.steps),
    })),
    categorical: part.categorical.map((c) => ({ feature: c.feature, categories: [...c.categories] })),
    hidden: part.hidden,
    w1: r(part.w1),
    b1: r(part.b1),
    w2: r(part.w2),
    b2: shortestFloat32(part.b2),
    reference: r(part.reference),
  };
}

/** Encoded width of a network part: numeric columns, one-hot blocks, step columns. */
function mlpWidth(part: ExplainerMlp): number {
  let width = part.numeric.length;
  for (const c of part.categorical) width += c.categories.length;
  for (const n of part.numeric) width += n.steps.length;
  return width;
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

function roundLinear(part: ExplainerLinear): ExplainerLinear {
  const r = (values: readonly number[]) => values.map(shortestFloat32);
  return {
    intercept: shortestFloat32(part.intercept),
    offsets: r(part.offsets),
    numeric: part.numeric.map((n) => ({
      feature: n.feature,
      mean: shortestFloat32(n.mean),
      std: shortestFloat32(n.std),
      weight: shortestFloat32(n.weight),
      steps: r(n.steps),
      stepWeights: r(n.stepWeights),
    })),
    categorical: part.categorical.map((c) => ({
      feature: c.feature,
      categories: [...c.categories],
      weights: r(c.weights),
    })),
  };
}

/** The linear part's margin at the training means: intercept + Σ offsets. */
function linearBase(part: ExplainerLinear): number {
  let base = Math.fround(part.intercept);
  for (const o of part.offsets) base += Math.fround(o);
  return base;
}

/** Validates untrusted JSON (e.g. read back from storage) as an explainer package. */
export function parseExplainerPackage(value: unknown): ExplainerPackage {
  const fail = (message: string): never => {
    throw new ChurnError("INVALID_MODEL", `Explainer package: ${message}`);
  };
  if (typeof value !== "object" || value === null) return fail("expected a JSON object");
  const pkg = value as Partial<ExplainerPackage>;
  if (pkg.format !== EXPLAINER_FORMAT || pkg.version !== EXPLAINER_VERSION) {
    fail(`expected format ${EXPLAINER_FORMAT} version ${EXPLAINER_VERSION}`);
  }
  if (!Array.isArray(pkg.features) || pkg.features.length === 0) fail("features must be a non-empty array");
  const features = pkg.features!;
  features.forEach((f, j) => {
    const ok =
      typeof f?.name === "string" &&
      (f.type === "numeric" ||
        (f.type === "categorical" &&
          Array.isArray(f.categories) &&
          f.categories.every((c) => typeof c === "string")));
    if (!ok) fail(`feature ${j} is malformed`);
  });
  if (!Array.isArray(pkg.columns)) fail("columns must be an array");
  const columns = pkg.columns!;
  columns.forEach((c, k) => {
    const f = features[c?.feature as number];
    const ok =
      f !== undefined &&
      (f.type === "numeric"
        ? c.category === undefined
        : typeof c.category === "string" && f.categories.includes(c.category));
    if (!ok) fail(`column ${k} does not name a feature (and, for one-hot columns, one of its categories)`);
  });
  if (!Number.isFinite(pkg.baseScore) || !Number.isFinite(pkg.baseMargin))
    fail("baseScore and baseMargin must be numbers");
  if (!Array.isArray(pkg.trees)) fail("trees must be an array");
  pkg.trees!.forEach((tree, t) => {
    checkTree(tree, columns.length, (message) => fail(`tree ${t}: ${message}`));
  });
  if (pkg.linear !== undefined) {
    if (!Array.isArray(pkg.linear)) fail("linear must be an array");
    pkg.linear!.forEach((part, i) => {
      checkLinear(part, features, (message) => fail(`linear part ${i}: ${message}`));
    });
  }
  if (pkg.mlp !== undefined) {
    if (!Array.isArray(pkg.mlp)) fail("mlp must be an array");
    pkg.mlp!.forEach((part, i) => {
      checkMlp(part, features, (message) => fail(`mlp part ${i}: ${message}`));
    });
  }
  return pkg as ExplainerPackage;
}

const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const finiteArray = (v: unknown, length?: number) =>
  Array.isArray(v) && v.every(finite) && (length === undefined || v.length === length);

/** A numeric feature's encoding in a linear or network part: standardisation and step cut points. */
function numericEncoding(
  n: { feature: number; mean: number; std: number; steps: number[] },
  features: readonly ExplainerFeature[],
): boolean {
  return (
    features[n?.feature]?.type === "numeric" &&
    finite(n.mean) &&
    finite(n.std) &&
    n.std !== 0 &&
    finiteArray(n.steps)
  );
}

/** A categorical feature's one-hot categories in a linear or network part. */
function categoricalEncoding(
  c: { feature: number; categories: string[] },
  features: readonly ExplainerFeature[],
): boolean {
  return (
    features[c?.feature]?.type === "categorical" &&
    Array.isArray(c.categories) &&
    c.categories.every((v) => typeof v === "string")
  );
}

function checkMlp(
  part: ExplainerMlp,
  features: readonly ExplainerFeature[],
  fail: (message: string) => never,
): void {
  if (typeof part !== "object" || part === null) fail("expected an object");
  if (!Array.isArray(part.numeric) || !Array.isArray(part.categorical))
    fail("numeric and categorical must be arrays");
  for (const n of part.numeric) if (!numericEncoding(n, features)) fail("a numeric input is malformed");
  for (const c of part.categorical) {
    if (!categoricalEncoding(c, features)) fail("a categorical input is malformed");
  }
  if (!(Number.isInteger(part.hidden) && part.hidden >= 1)) fail("hidden must be a positive integer");
  const width = mlpWidth(part);
  if (!finiteArray(part.w1, part.hidden * width)) fail(`w1 must hold ${part.hidden * width} numbers`);
  if (!finiteArray(part.b1, part.hidden) || !finiteArray(part.w2, part.hidden))
    fail(`b1 and w2 must hold ${part.hidden} numbers`);
  if (!finite(part.b2)) fail("b2 must be a number");
  if (!finiteArray(part.reference, width)) fail(`reference must hold ${width} numbers`);
}

function checkLinear(
  part: ExplainerLinear,
  features: readonly ExplainerFeature[],
  fail: (message: string) => never,
): void {
  if (typeof part !== "object" || part === null) fail("expected an object");
  if (!finite(part.intercept)) fail("intercept must be a number");
  if (!finiteArray(part.offsets, features.length)) fail(`offsets must hold ${features.length} numbers`);
  if (!Array.isArray(part.numeric) || !Array.isArray(part.categorical))
    fail("numeric and categorical must be arrays");
  for (const n of part.numeric) {
    const ok = numericEncoding(n, features) && finite(n.weight) && finiteArray(n.stepWeights, n.steps.length);
    if (!ok) fail("a numeric term is malformed");
  }
  for (const c of part.categorical) {
    const ok = categoricalEncoding(c, features) && finiteArray(c.weights, c.categories.length);
    if (!ok) fail("a categorical term is malformed");
  }
}

function checkTree(tree: ExplainerTree, columnCount: number, fail: (message: string) => never): void {
  const fields = ["feature", "threshold", "missingLeft", "left", "right", "value", "cover"] as const;
  const nodes = Array.isArray(tree?.feature) ? tree.feature.length : 0;
  if (nodes === 0) fail("has no nodes");
  for (const field of fields) {
    const values = tree[field];
    if (
      !Array.isArray(values) ||
      values.length !== nodes ||
      !values.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      fail(`"${field}" must hold ${nodes} finite numbers`);
    }
  }
  for (let n = 0; n < nodes; n++) {
    if (!(tree.cover[n]! > 0)) fail(`node ${n} has no cover`);
    const column = tree.feature[n]!;
    if (column === -1) continue;
    if (!Number.isInteger(column) || column < 0 || column >= columnCount)
      fail(`node ${n} splits on unknown column ${column}`);
    // Children after their parent: the tree is acyclic and every walk ends at a leaf.
    for (const child of [tree.left[n]!, tree.right[n]!]) {
      if (!Number.isInteger(child) || child <= n || child >= nodes)
        fail(`node ${n} has an invalid child ${child}`);
    }
  }
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
  // Column layout: numeric values, one-hot blocks, step columns (as preprocess.ts encodes).
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

/** Shortest decimal that rounds to the same float32, so the JSON stays small and exact. */
export function shortestFloat32(value: number): number {
  const target = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return Number(target.toPrecision(9));
}
