import { ChurnError } from "../../../shared/src/errors.ts";
import { depthOf, expectedValue, leafIndex, type ShapTree, ShapWorkspace, treeShap } from "./treeshap.ts";

/**
 * The explainer package: a GBDT's trees as compact JSON, enough to compute its margins and exact
 * TreeSHAP contributions per raw feature anywhere JavaScript runs (the edge loads it next to the ONNX
 * graph, whose tree ensemble it mirrors split for split). Floats are float32 values written as their
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

export interface ExplainerPackage {
  format: typeof EXPLAINER_FORMAT;
  version: typeof EXPLAINER_VERSION;
  /** Raw features in manifest order: the contribution columns. */
  features: ExplainerFeature[];
  /** Encoded columns the trees split on; numeric ones take the raw value (NaN = missing), one-hot 0/1. */
  columns: ExplainerColumn[];
  /** Margin before any tree. */
  baseScore: number;
  /** Expected margin (base score + each tree's cover-weighted mean leaf): margin = baseMargin + Σ contributions. */
  baseMargin: number;
  trees: ExplainerTree[];
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
  };
  // The expected value is taken over the rounded covers the explainer will actually use.
  const compiled = compileTrees(draft);
  let baseMargin = Math.fround(draft.baseScore);
  for (const tree of compiled) baseMargin += expectedValue(tree);
  return { ...draft, baseMargin };
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
  return pkg as ExplainerPackage;
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
        margins[r] = margin;
        for (let k = 0; k < nColumns; k++) contributions[r * nFeatures + columnFeature[k]!]! += phi[k]!;
      }
      return { margins, contributions };
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
