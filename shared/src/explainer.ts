import { z } from "zod";
import { ChurnError } from "./errors.ts";

/**
 * The explainer package: a model's trees (and any linear or network parts of an ensemble) as compact
 * JSON, enough to compute its margins and additive contributions per raw feature anywhere JavaScript runs.
 * The trainer writes it next to the ONNX graph, whose parts it mirrors; the edge and the control plane
 * read it back through `parseExplainerPackage` and evaluate it with `model-runtime/`. Floats are float32
 * values written as their shortest decimal; readers round them back with Math.fround.
 */
export const EXPLAINER_FORMAT = "churn-gbdt-treeshap";
export const EXPLAINER_VERSION = 1;

const finite = z.number().finite();
const finiteArray = z.array(finite);
const featureIndex = z.number().int().nonnegative();

const explainerFeatureSchema = z.discriminatedUnion("type", [
  z.object({ name: z.string(), type: z.literal("numeric") }),
  z.object({ name: z.string(), type: z.literal("categorical"), categories: z.array(z.string()) }),
]);

/** One encoded column: the raw feature (index into `features`) and, for one-hot columns, its category. */
const explainerColumnSchema = z.object({ feature: featureIndex, category: z.string().optional() });

/** Parallel per-node arrays; a leaf has feature -1 (and 0 in the split fields). */
const explainerTreeSchema = z.object({
  feature: finiteArray,
  threshold: finiteArray,
  missingLeft: finiteArray,
  left: finiteArray,
  right: finiteArray,
  value: finiteArray,
  cover: finiteArray,
});

/** A numeric feature's encoding in a linear or network part: standardisation and step cut points. */
const numericEncoding = { feature: featureIndex, mean: finite, std: finite, steps: finiteArray };

/**
 * A logistic-regression part of the margin, for ensembles that average trees with a linear model. Its
 * contribution to feature j is fround(Σ fround(term · weight)) − offsets[j], its terms being the
 * standardised value, the steps `x > cut` (both on the value with NaN imputed by the mean) and one-hot
 * categories; Σ offsets + intercept is its share of baseMargin.
 */
const explainerLinearSchema = z.object({
  intercept: finite,
  /** Per feature, in `features` order. */
  offsets: finiteArray,
  numeric: z.array(z.object({ ...numericEncoding, weight: finite, stepWeights: finiteArray })),
  categorical: z.array(
    z.object({ feature: featureIndex, categories: z.array(z.string()), weights: finiteArray }),
  ),
});

/**
 * A one-hidden-layer ReLU network part of the margin (an MLP, alone or in an ensemble), explained by
 * DeepLIFT's rescale rule against the mean encoded training row (see model-runtime/deeplift.ts). Its
 * input is the logistic regression's encoding: each numeric feature standardised (NaN imputed by the
 * mean), then each categorical feature's one-hot block, then each numeric feature's step columns
 * `x > cut`, in that order.
 */
const explainerMlpSchema = z.object({
  numeric: z.array(z.object(numericEncoding)),
  categorical: z.array(z.object({ feature: featureIndex, categories: z.array(z.string()) })),
  hidden: z.number().int().positive(),
  /** hidden x width, row-major. */
  w1: finiteArray,
  b1: finiteArray,
  w2: finiteArray,
  b2: finite,
  /** Mean encoded training row (width values). */
  reference: finiteArray,
});

export const explainerPackageSchema = z.object({
  format: z.literal(EXPLAINER_FORMAT),
  version: z.literal(EXPLAINER_VERSION),
  /** Raw features in manifest order: the contribution columns. */
  features: z.array(explainerFeatureSchema).min(1),
  /** Encoded columns the trees split on; numeric ones take the raw value (NaN = missing), one-hot 0/1. */
  columns: z.array(explainerColumnSchema),
  /** Margin before any tree. */
  baseScore: finite,
  /**
   * Expected margin (base score + each tree's cover-weighted mean leaf + each linear part's margin at the
   * training means): margin = baseMargin + Σ contributions.
   */
  baseMargin: finite,
  trees: z.array(explainerTreeSchema),
  /** Linear parts added to the trees' margin (weighted ensembles); absent for pure tree models. */
  linear: z.array(explainerLinearSchema).optional(),
  /** Network parts added to the margin (an MLP or an ensemble holding one). */
  mlp: z.array(explainerMlpSchema).optional(),
});

export type ExplainerPackage = z.infer<typeof explainerPackageSchema>;
export type ExplainerFeature = ExplainerPackage["features"][number];
export type ExplainerColumn = ExplainerPackage["columns"][number];
export type ExplainerTree = ExplainerPackage["trees"][number];
export type ExplainerLinear = NonNullable<ExplainerPackage["linear"]>[number];
export type ExplainerMlp = NonNullable<ExplainerPackage["mlp"]>[number];

/** Encoded width of a network part: numeric columns, one-hot blocks, step columns. */
export function mlpWidth(part: ExplainerMlp): number {
  let width = part.numeric.length;
  for (const c of part.categorical) width += c.categories.length;
  for (const n of part.numeric) width += n.steps.length;
  return width;
}

/** Validates untrusted JSON (read back from storage) as an explainer package; INVALID_MODEL otherwise. */
export function parseExplainerPackage(value: unknown): ExplainerPackage {
  const fail = (message: string): never => {
    throw new ChurnError("INVALID_MODEL", `Explainer package: ${message}`);
  };
  const parsed = explainerPackageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(`${issue.path.join(".") || "package"}: ${issue.message}`);
  }
  const pkg = parsed.data;
  checkReferences(pkg, fail);
  return pkg;
}

/** What the schema cannot say: indices point at real features and columns, and sizes agree. */
function checkReferences(pkg: ExplainerPackage, fail: (message: string) => never): void {
  const { features, columns } = pkg;
  columns.forEach((c, k) => {
    const f = features[c.feature];
    const ok =
      f !== undefined &&
      (f.type === "numeric"
        ? c.category === undefined
        : c.category !== undefined && f.categories.includes(c.category));
    if (!ok) fail(`column ${k} does not name a feature (and, for one-hot columns, one of its categories)`);
  });
  pkg.trees.forEach((tree, t) => {
    checkTree(tree, columns.length, (message) => fail(`tree ${t}: ${message}`));
  });
  const isNumeric = (feature: number) => features[feature]?.type === "numeric";
  const isCategorical = (feature: number) => features[feature]?.type === "categorical";
  (pkg.linear ?? []).forEach((part, i) => {
    const partFail = (message: string) => fail(`linear part ${i}: ${message}`);
    if (part.offsets.length !== features.length) partFail(`offsets must hold ${features.length} numbers`);
    for (const n of part.numeric) {
      if (!isNumeric(n.feature) || n.std === 0 || n.stepWeights.length !== n.steps.length)
        partFail("a numeric term is malformed");
    }
    for (const c of part.categorical) {
      if (!isCategorical(c.feature) || c.weights.length !== c.categories.length)
        partFail("a categorical term is malformed");
    }
  });
  (pkg.mlp ?? []).forEach((part, i) => {
    const partFail = (message: string) => fail(`mlp part ${i}: ${message}`);
    for (const n of part.numeric)
      if (!isNumeric(n.feature) || n.std === 0) partFail("a numeric input is malformed");
    for (const c of part.categorical)
      if (!isCategorical(c.feature)) partFail("a categorical input is malformed");
    const width = mlpWidth(part);
    if (part.w1.length !== part.hidden * width) partFail(`w1 must hold ${part.hidden * width} numbers`);
    if (part.b1.length !== part.hidden || part.w2.length !== part.hidden)
      partFail(`b1 and w2 must hold ${part.hidden} numbers`);
    if (part.reference.length !== width) partFail(`reference must hold ${width} numbers`);
  });
}

function checkTree(tree: ExplainerTree, columnCount: number, fail: (message: string) => never): void {
  const fields = ["feature", "threshold", "missingLeft", "left", "right", "value", "cover"] as const;
  const nodes = tree.feature.length;
  if (nodes === 0) fail("has no nodes");
  for (const field of fields) {
    if (tree[field].length !== nodes) fail(`"${field}" must hold ${nodes} finite numbers`);
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
